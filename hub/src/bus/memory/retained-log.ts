import type { BusMessage, Retention } from '../bus.ts';

/**
 * One topic's retained messages, oldest first, trimmed per {@link Retention} on every append (the same rule the
 * Redis script applies). Seqs in the log are contiguous, so a seq maps to an index without searching.
 */
export class RetainedLog {
  // Dropped entries are cleared and skipped by `#start`; the array is compacted once the dead prefix dominates,
  // which keeps appends O(1) amortised without a ring's index arithmetic.
  #entries: (BusMessage | undefined)[] = [];
  #start = 0;

  constructor(private readonly retention: Retention) {}

  get length(): number {
    return this.#entries.length - this.#start;
  }

  /**
   * Appends the message with the next seq and drops what retention no longer covers.
   * @example log.append({ topic, seq: 1, ts: now, frame }, now);
   */
  append(message: BusMessage, now: number): void {
    const entries = this.#entries;
    entries.push(message);
    const { messages, ms, maxMessages } = this.retention;
    for (;;) {
      const length = entries.length - this.#start;
      const oldest = entries[this.#start]!;
      if (length > maxMessages || (length > messages && now - oldest.ts >= ms)) {
        entries[this.#start++] = undefined;
      } else {
        break;
      }
    }
    if (this.#start >= 1024 && this.#start * 2 >= entries.length) {
      this.#entries = entries.slice(this.#start);
      this.#start = 0;
    }
  }

  /**
   * Messages with `seq > since` when `head` is the newest seq, or undefined when the oldest of them was trimmed.
   * @example log.after(3, 5); // [message 4, message 5]
   */
  after(since: number, head: number): BusMessage[] | undefined {
    if (since >= head) return [];
    const first = head - this.length + 1;
    if (since + 1 < first) return undefined;
    return this.#entries.slice(this.#start + (since + 1 - first)) as BusMessage[];
  }
}
