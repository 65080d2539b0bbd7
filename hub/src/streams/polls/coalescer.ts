/** What a flush may ask for: nothing (done), or to be run again after a while with the same items still pending. */
export type FlushOutcome = undefined | { readonly retryInMs: number };

export interface CoalescerOptions<T> {
  /** at most one flush per key per this many ms in this process */
  readonly intervalMs: number;
  /**
   * Publishes what changed for `key`. `items` are what was touched since the last flush (e.g. question ids); `final`
   * is true during `close()`, when there will be no later flush to defer to.
   */
  readonly flush: (key: string, items: ReadonlySet<T>, final: boolean) => Promise<FlushOutcome>;
  /** told about a failed flush, which is retried after `retryMs` */
  readonly onError: (error: unknown, key: string) => void;
  readonly retryMs?: number;
}

interface KeyState<T> {
  items: Set<T>;
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  lastFlushAt: number;
  /** forgets an idle key once its interval has passed, so memory follows activity */
  expiry: NodeJS.Timeout | undefined;
}

/**
 * Turns a stream of touches into at most one flush per key per interval. The first touch after a quiet interval
 * flushes on the next tick (leading edge); touches while a flush is due or running are gathered into the next one
 * (trailing edge). So every touch is followed by a flush that starts after it, whatever the load.
 *
 * @example
 * const results = new Coalescer({ intervalMs: 200, flush: (poll) => publishResults(poll), onError: (e) => log.warn(e) });
 * results.touch('expo/p1'); // after each vote
 * await results.close();    // on shutdown: runs what is pending, once, with final = true
 */
export class Coalescer<T = never> {
  readonly #keys = new Map<string, KeyState<T>>();
  #closed = false;

  constructor(private readonly options: CoalescerOptions<T>) {}

  /** Keys with a flush due or running. */
  get pending(): number {
    let n = 0;
    for (const s of this.#keys.values()) if (s.dirty || s.running) n++;
    return n;
  }

  touch(key: string, item?: T): void {
    if (this.#closed) return;
    let state = this.#keys.get(key);
    if (!state) {
      state = { items: new Set(), dirty: false, timer: undefined, running: undefined, lastFlushAt: -Infinity, expiry: undefined };
      this.#keys.set(key, state);
    }
    clearTimeout(state.expiry);
    state.expiry = undefined;
    if (item !== undefined) state.items.add(item);
    state.dirty = true;
    if (!state.running && !state.timer) this.#schedule(key, state, state.lastFlushAt + this.options.intervalMs - performance.now());
  }

  /** Stops the timers, runs every pending flush once more with `final = true`, and waits for all of them. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending: Promise<void>[] = [];
    for (const [key, state] of this.#keys) {
      clearTimeout(state.timer);
      clearTimeout(state.expiry);
      state.timer = undefined;
      pending.push(
        (async () => {
          await state.running;
          if (state.dirty) await this.#run(key, state, true);
        })(),
      );
    }
    await Promise.all(pending);
    this.#keys.clear();
  }

  async #flushOnce(key: string, items: ReadonlySet<T>, final: boolean): Promise<FlushOutcome> {
    try {
      return await this.options.flush(key, items, final);
    } catch (error) {
      this.options.onError(error, key);
      return { retryInMs: this.options.retryMs ?? 1000 };
    }
  }

  #schedule(key: string, state: KeyState<T>, delayMs: number): void {
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.#run(key, state, false);
    }, Math.max(0, delayMs));
    state.timer.unref?.();
  }

  async #run(key: string, state: KeyState<T>, final: boolean): Promise<void> {
    const items = state.items;
    state.items = new Set();
    state.dirty = false;
    const flushing = this.#flushOnce(key, items, final);
    state.running = flushing.then(() => undefined);
    const outcome = await flushing;
    state.running = undefined;
    state.lastFlushAt = performance.now();
    if (outcome && !final) {
      // Not done: what this flush carried is still owed.
      for (const item of items) state.items.add(item);
      state.dirty = true;
      if (!this.#closed) this.#schedule(key, state, outcome.retryInMs);
      return;
    }
    if (this.#closed) return;
    if (state.dirty) {
      this.#schedule(key, state, this.options.intervalMs);
    } else {
      state.expiry = setTimeout(() => {
        if (!state.dirty && !state.running && !state.timer && this.#keys.get(key) === state) this.#keys.delete(key);
      }, this.options.intervalMs);
      state.expiry.unref?.();
    }
  }
}
