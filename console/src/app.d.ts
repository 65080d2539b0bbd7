// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface Error {
      message: string;
      /** the hub's error code, when the error came from the hub */
      code?: string;
    }
  }
}

export {};
