/**
 * Capped exponential backoff shared by reconnects and history retries: 100 ms, 200 ms, … up to 2 s.
 * @example backoffMs(1); // 100
 */
export function backoffMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(Math.max(attempt, 1), 6), 2000);
}

/**
 * Where gap fills wait when history could not be read: a backoff timer that is cut short the moment the command
 * connection is back, and that releases everyone (with `false`) on close so nothing outlives the bus.
 */
export class RetryGate {
  readonly #waiting = new Set<{ timer: NodeJS.Timeout; resolve: (retry: boolean) => void }>();
  #closed = false;

  /**
   * Resolves `true` when it is time to retry, `false` when the bus closed meanwhile.
   * @example while (!(await tryFetch())) if (!(await gate.wait(attempt++))) return;
   */
  wait(attempt: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          this.#waiting.delete(waiter);
          resolve(true);
        }, backoffMs(attempt)),
      };
      waiter.timer.unref();
      this.#waiting.add(waiter);
    });
  }

  /** The backend is reachable again: retry now. */
  open(): void {
    this.#release(true);
  }

  close(): void {
    this.#closed = true;
    this.#release(false);
  }

  #release(retry: boolean): void {
    for (const waiter of this.#waiting) {
      clearTimeout(waiter.timer);
      waiter.resolve(retry);
    }
    this.#waiting.clear();
  }
}
