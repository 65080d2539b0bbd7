/**
 * A bulkhead: at most `max` tasks run at once, the rest wait in order. The hub puts votes behind one so that a burst
 * of thousands cannot occupy every pooled database connection: publishing live results, moderator commands, chat
 * and check-ins keep getting a connection within one statement's time instead of queueing behind the whole burst.
 *
 * @example
 * const votes = new ConcurrencyLimit(6);
 * await votes.run(() => castVote(db, vote));
 */
export class ConcurrencyLimit {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`ConcurrencyLimit needs a positive integer, not ${max}`);
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (the count stays), or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
