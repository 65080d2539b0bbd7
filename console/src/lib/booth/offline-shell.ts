/** Where the booth app's files are kept on the phone, per console build. */
export const boothCacheName = (version: string): string => `opshub-booth-${version}`;

/** The cache key of the app's page (every client route answers with it). */
export const shellKey = '/booth/__shell';

/** True for the service worker registration the booth app makes (scope `/booth/`). */
export function isBoothScope(scope: string): boolean {
  return new URL(scope).pathname.startsWith('/booth/');
}
