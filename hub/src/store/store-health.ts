import type { Logger } from '../log.ts';
import type { Store } from './store.ts';

export interface StoreHealthOptions {
  /** how often to ask (default 1000 ms) */
  readonly intervalMs?: number;
  /** an answer slower than this counts as unreachable (default 3000 ms) */
  readonly timeoutMs?: number;
  readonly log?: Logger;
}

/**
 * Whether this hub's Store answers, for `/healthz` and `opshub_store_healthy`: a ping every second on the Store's
 * own probe connection, the last answer kept. A health check must answer at once, so it reads the kept answer
 * instead of querying; a restarted PostgreSQL shows within about a second either way.
 *
 * @example
 * const health = new StoreHealth(store, { log });
 * health.start();
 * health.isHealthy(); // false while PostgreSQL is down
 * health.close();
 */
export class StoreHealth {
  #healthy = true;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;
  #closed = false;

  constructor(
    private readonly store: Pick<Store, 'ping' | 'kind'>,
    private readonly options: StoreHealthOptions = {},
  ) {}

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.check(), this.options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  isHealthy(): boolean {
    return this.#healthy;
  }

  /** Asks the Store now (one question at a time) and resolves with the answer. */
  async check(): Promise<boolean> {
    if (this.#inFlight || this.#closed) return this.#healthy;
    this.#inFlight = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeoutMs = this.options.timeoutMs ?? 3000;
      await Promise.race([
        this.store.ping(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
      this.#set(true);
    } catch (err) {
      this.#set(false, err);
    } finally {
      clearTimeout(timer);
      this.#inFlight = false;
    }
    return this.#healthy;
  }

  #set(healthy: boolean, err?: unknown): void {
    if (healthy === this.#healthy || this.#closed) return;
    this.#healthy = healthy;
    if (healthy) this.options.log?.info({ store: this.store.kind }, 'store reachable again');
    else this.options.log?.warn({ err, store: this.store.kind }, 'store unreachable: /healthz answers 503 until it is back');
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
