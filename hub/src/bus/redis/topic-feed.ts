import type { BusListener, BusMessage, History } from '../bus.ts';
import type { BusLog } from '../bus-log.ts';
import type { TopicKeys } from './keys.ts';

/** What a feed needs from its bus. */
export interface FeedHost {
  history(keys: TopicKeys, since: number): Promise<History>;
  deliver(listeners: readonly BusListener[], message: BusMessage): void;
  /** A gap was noticed and the missing messages were delivered from history. */
  filled(): void;
  /** Resolves `true` when a failed history read should be retried, `false` when the bus closed. */
  waitToRetry(attempt: number): Promise<boolean>;
  readonly log: BusLog;
}

/**
 * One subscribed topic on one node. Turns whatever the subscriber connection produces into what the Bus promises:
 * every message after the subscription, once, in seq order.
 *
 * - Until {@link start} learns the head, nothing is delivered: arrivals wait in `#held`, and those at or below the
 *   head are dropped (history serves them).
 * - A seq at or below the last delivered one is a duplicate and dropped.
 * - A seq beyond the next expected one means the connection missed messages (it was reconnecting). Arrivals wait
 *   in `#held` while history fills the gap; then delivery resumes with what was held.
 *
 * @example
 * const feed = new TopicFeed(keys, host);
 * feed.listeners = [listener];
 * await redis.subscribe(keys.channel);
 * feed.start(await headOf(keys));   // and from then on, for every message on the channel:
 * feed.receive(message);
 */
export class TopicFeed {
  readonly kind = 'topic' as const;
  listeners: readonly BusListener[] = [];
  /** Settles when the subscription is live; set by the bus. */
  ready: Promise<void> = Promise.resolve();
  #last = -1;
  #held: BusMessage[] = [];
  #filling = false;
  #fillAgain = false;
  #closed = false;

  constructor(
    readonly keys: TopicKeys,
    private readonly host: FeedHost,
  ) {}

  /** The last seq handed to listeners; -1 until {@link start}. */
  get last(): number {
    return this.#last;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A message arrived on the topic's channel. */
  receive(message: BusMessage): void {
    if (this.#closed) return;
    if (this.#last < 0 || this.#filling) {
      this.#held.push(message);
    } else if (message.seq === this.#last + 1) {
      this.#emit(message);
    } else if (message.seq > this.#last) {
      this.#held.push(message);
      void this.#fill();
    }
  }

  /** The subscription is confirmed and `head` was read after it: deliver from `head + 1` on. */
  start(head: number): void {
    if (this.#closed || this.#last >= 0) return;
    this.#last = head;
    if (this.#fillAgain) {
      this.#fillAgain = false;
      void this.#fill();
    } else if (!this.#drainHeld()) {
      void this.#fill();
    }
  }

  /** The subscriber connection came back: whatever was published while it was away is in history. */
  catchUp(): void {
    if (this.#closed) return;
    if (this.#last < 0 || this.#filling) this.#fillAgain = true;
    else void this.#fill();
  }

  close(): void {
    this.#closed = true;
    this.#held = [];
    this.listeners = [];
  }

  #emit(message: BusMessage): void {
    this.#last = message.seq;
    this.host.deliver(this.listeners, message);
  }

  async #fill(): Promise<void> {
    this.#filling = true;
    let attempt = 0;
    try {
      while (!this.#closed) {
        let history: History;
        try {
          history = await this.host.history(this.keys, this.#last);
        } catch (err) {
          if (attempt === 0) this.host.log.warn({ err, topic: this.keys.topic }, 'cannot read history to fill a gap; retrying');
          if (!(await this.host.waitToRetry(attempt++))) return;
          continue;
        }
        if (this.#closed) return;
        attempt = 0;
        this.#fillFrom(history);
        // A reconnect during the read may have lost messages the read did not see yet: read once more.
        if (this.#drainHeld() && !this.#fillAgain) return;
        this.#fillAgain = false;
      }
    } finally {
      this.#filling = false;
    }
  }

  #fillFrom(history: History): void {
    if (history.kind === 'reset') {
      // Missed for longer than retention: those messages are gone. Resume at the oldest message still on its way
      // (or at the head); consumers see the seq jump and send their clients a reset.
      const resume = this.#held.length > 0 ? this.#held[0]!.seq - 1 : history.head;
      if (resume > this.#last) {
        this.host.log.warn({ topic: this.keys.topic, from: this.#last + 1, to: resume }, 'messages missed during an outage are no longer retained; skipping them');
        this.#last = resume;
      }
      return;
    }
    let filled = false;
    for (const message of history.messages) {
      if (message.seq !== this.#last + 1) continue;
      this.#emit(message);
      filled = true;
      if (this.#closed) return;
    }
    if (filled) this.host.filled();
  }

  /** Delivers held messages that continue the sequence. False when a gap remains (the rest stays held). */
  #drainHeld(): boolean {
    const held = this.#held;
    if (held.length === 0) return true;
    let i = 0;
    for (; i < held.length && !this.#closed; i++) {
      const message = held[i]!;
      if (message.seq <= this.#last) continue;
      if (message.seq !== this.#last + 1) break;
      this.#emit(message);
    }
    if (this.#closed) return true;
    this.#held = i === held.length ? [] : held.slice(i);
    return i === held.length;
  }
}
