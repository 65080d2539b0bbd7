import { replayLimits } from '@opshub/schema';
import type { Bus, BusListener } from '../bus/bus.ts';

/** The slice of a uWS app the relay needs: native topic fan-out, one serialisation per message. */
export interface TopicPublisher {
  publish(topic: string, message: string, isBinary?: boolean, compress?: boolean): boolean;
  numSubscribers(topic: string): number;
}

/** What a socket is sent before it joins a topic's live fan-out. */
export type CatchUp =
  | { readonly kind: 'frames'; readonly frames: readonly string[]; readonly head: number }
  | { readonly kind: 'reset'; readonly head: number };

export interface RelayObserver {
  /** a frame was handed to `subscribers` local sockets, `lagMs` after it was published */
  delivered(subscribers: number, lagMs: number): void;
}

export interface TopicRelayOptions {
  /** frames a topic's ring holds at most */
  readonly ringSize: number;
  /** UTF-8 bytes of frames a topic's ring holds at most, whatever their count (`HUB_REPLAY_TOPIC_MB`) */
  readonly ringBytes: number;
  /** UTF-8 bytes of frames all rings together hold at most (`HUB_REPLAY_BUDGET_MB`) */
  readonly budgetBytes: number;
  /** how long a `since` ahead of this hub may wait for the messages still on their way */
  readonly catchUpWaitMs: number;
}

export const defaultTopicRelayOptions: TopicRelayOptions = Object.freeze({
  ringSize: 1024,
  ringBytes: replayLimits.topicBytes,
  budgetBytes: replayLimits.budgetBytes,
  catchUpWaitMs: 2000,
});

/** The bytes every ring of one relay holds together, shared by its topics. */
interface RingBudget {
  readonly limit: number;
  held: number;
}

/**
 * Bridges the Bus to uWS topics for the topics this process has subscribers for.
 *
 * Each relayed topic keeps its last seq and a small ring of recent frames, bounded by count and by bytes: on the
 * Redis bus the ring's frames are this process's only copy, and 1,024 frames of a megabyte each would be a
 * gigabyte per topic. Beyond a topic's byte bound its oldest frames go; beyond the relay's budget for all rings,
 * the topic that pushed it over gives up its own oldest (a ring is a cache: a `since` it no longer reaches is
 * answered from bus history, so a smaller ring costs a history read, never a message). A socket subscribing with `since`
 * is sent the missing frames (ring, else bus history) and joins the uWS topic in the same synchronous step,
 * so it sees every message after `since` exactly once: everything up to `head` by direct send, everything
 * after it through `app.publish`.
 */
export class TopicRelay {
  readonly #topics = new Map<string, RelayedTopic>();

  constructor(
    private readonly bus: Bus,
    private readonly app: TopicPublisher,
    private readonly observer: RelayObserver,
    options: Partial<TopicRelayOptions> = {},
  ) {
    this.options = { ...defaultTopicRelayOptions, ...options };
    for (const key of ['ringSize', 'ringBytes', 'budgetBytes'] as const) {
      const value = this.options[key];
      if (!Number.isSafeInteger(value) || value < (key === 'ringSize' ? 1 : 0)) throw new RangeError(`TopicRelay ${key} must be a ${key === 'ringSize' ? 'positive' : 'non-negative'} integer, got ${value}`);
    }
    this.#budget = { limit: this.options.budgetBytes, held: 0 };
  }

  private readonly options: TopicRelayOptions;
  readonly #budget: RingBudget;

  /** UTF-8 bytes of frames all rings hold now. */
  get ringBytes(): number {
    return this.#budget.held;
  }

  /** Topics with at least one local subscriber. */
  get size(): number {
    return this.#topics.size;
  }

  /**
   * Holds the topic open (bus subscription, ring) for one more local subscriber; resolves when live delivery runs.
   * Every `acquire` must be paired with a `release`.
   */
  async acquire(topic: string): Promise<void> {
    let relayed = this.#topics.get(topic);
    if (!relayed) {
      relayed = new RelayedTopic(topic, this.options.ringSize, this.options.ringBytes, this.#budget, this.app, this.observer);
      this.#topics.set(topic, relayed);
      relayed.ready = this.#open(relayed);
    }
    relayed.refs++;
    try {
      await relayed.ready;
    } catch (error) {
      this.release(topic);
      throw error;
    }
  }

  release(topic: string): void {
    const relayed = this.#topics.get(topic);
    if (!relayed || --relayed.refs > 0) return;
    this.#topics.delete(topic);
    relayed.close();
    // A failed unsubscribe only leaves a listener that the next acquire replaces; nothing to tell the client.
    relayed.ready.then(() => this.bus.unsubscribe(topic, relayed.listener)).catch(() => {});
  }

  /** The bus's epoch: seqs are comparable only within one. */
  epoch(): string {
    return this.bus.epoch();
  }

  /** The last seq relayed for an acquired topic. */
  head(topic: string): number {
    return this.#topics.get(topic)?.lastSeq ?? 0;
  }

  /**
   * What a socket that saw `since` must be sent before it joins the topic. Call only between `acquire` and
   * `release`, and join the uWS topic synchronously after sending the frames (no await in between).
   */
  async catchUp(topic: string, since: number): Promise<CatchUp> {
    const relayed = this.#topics.get(topic);
    if (!relayed) throw new Error(`catchUp on a topic that was not acquired: ${topic}`);
    if (since > relayed.lastSeq) {
      // The client may have seen messages on another hub that are still on their way here; wait for them,
      // but a since beyond the bus's own head is from a history that no longer exists.
      const head = await this.bus.head(topic);
      if (since > head || !(await relayed.reached(since, this.options.catchUpWaitMs))) {
        return { kind: 'reset', head: relayed.lastSeq };
      }
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const fromRing = relayed.framesAfter(since);
      if (fromRing) return { kind: 'frames', frames: fromRing, head: relayed.lastSeq };
      const history = await this.bus.history(topic, since);
      if (history.kind === 'reset') return { kind: 'reset', head: relayed.lastSeq };
      const last = history.messages.at(-1)?.seq ?? since;
      const rest = relayed.framesAfter(last);
      // The ring can wrap while history is fetched under a burst; then fetch again from where the ring stops.
      if (rest) return { kind: 'frames', frames: [...history.messages.map((m) => m.frame), ...rest], head: relayed.lastSeq };
    }
    return { kind: 'reset', head: relayed.lastSeq };
  }

  async #open(relayed: RelayedTopic): Promise<void> {
    await this.bus.subscribe(relayed.topic, relayed.listener);
    const head = await this.bus.head(relayed.topic);
    relayed.startAt(head);
  }
}

interface Waiter {
  readonly seq: number;
  readonly resolve: (reached: boolean) => void;
}

/** One topic's relay state. Frames in the ring are contiguous in seq and end at `lastSeq`. */
class RelayedTopic {
  refs = 0;
  lastSeq = 0;
  ready: Promise<void> = Promise.resolve();
  // Frames only: the strings are the ones the bus retains too (the in-process bus), so the ring adds a slot each.
  readonly #ring: (string | undefined)[];
  /** each slot's frame size in UTF-8 bytes */
  readonly #sizes: Uint32Array;
  #ringCount = 0;
  /** UTF-8 bytes of the frames in the ring */
  #bytes = 0;
  #closed = false;
  #waiters: Waiter[] = [];

  constructor(
    readonly topic: string,
    ringSize: number,
    private readonly maxBytes: number,
    private readonly budget: RingBudget,
    private readonly app: TopicPublisher,
    private readonly observer: RelayObserver,
  ) {
    this.#ring = new Array(ringSize);
    this.#sizes = new Uint32Array(ringSize);
  }

  readonly listener: BusListener = (message) => {
    if (message.seq <= this.lastSeq || this.#closed) return;
    // The bus never skips a seq, but if it ever did the ring must not pretend to cover the hole.
    if (message.seq !== this.lastSeq + 1) this.clear();
    this.#keep(message.seq, message.frame);
    this.app.publish(this.topic, message.frame, false, false);
    this.observer.delivered(this.app.numSubscribers(this.topic), Date.now() - message.ts);
    if (this.#waiters.length > 0) this.#wake();
  };

  /** Called once the bus subscription is live: `head` is the newest seq published before it. */
  startAt(head: number): void {
    if (head > this.lastSeq) {
      // Messages up to head were published before we listened: they are in bus history, not in the ring.
      this.clear();
      this.lastSeq = head;
    }
  }

  /** No local subscriber left: the ring's bytes go back to the budget, and a late bus message is ignored. */
  close(): void {
    this.#closed = true;
    this.clear();
  }

  /** Empties the ring and hands its bytes back to the relay's budget. */
  clear(): void {
    while (this.#ringCount > 0) this.#dropOldest();
  }

  /**
   * Puts `frame`, seq `lastSeq + 1`, in the ring and makes it the last; then drops the oldest frames while a byte
   * bound is exceeded.
   */
  #keep(seq: number, frame: string): void {
    const slot = seq % this.#ring.length;
    if (this.#ringCount === this.#ring.length) this.#dropOldest(); // the slot about to be overwritten
    const size = Buffer.byteLength(frame);
    this.#ring[slot] = frame;
    this.#sizes[slot] = size;
    this.#ringCount++;
    this.lastSeq = seq;
    this.#bytes += size;
    this.budget.held += size;
    // Down to an empty ring if need be: a frame larger than the bound is not kept (history has it).
    while (this.#ringCount > 0 && (this.#bytes > this.maxBytes || this.budget.held > this.budget.limit)) this.#dropOldest();
  }

  /** Drops the oldest frame; the ring must not be empty (it holds seqs `lastSeq - ringCount + 1` … `lastSeq`). */
  #dropOldest(): void {
    const slot = (this.lastSeq - this.#ringCount + 1) % this.#ring.length;
    const size = this.#sizes[slot]!;
    this.#ring[slot] = undefined;
    this.#sizes[slot] = 0;
    this.#ringCount--;
    this.#bytes -= size;
    this.budget.held -= size;
  }

  /** Frames with seq > since, or undefined when the ring does not reach back that far. */
  framesAfter(since: number): string[] | undefined {
    if (since >= this.lastSeq) return [];
    const first = this.lastSeq - this.#ringCount + 1;
    if (since + 1 < first) return undefined;
    const frames: string[] = [];
    for (let seq = since + 1; seq <= this.lastSeq; seq++) frames.push(this.#ring[seq % this.#ring.length]!);
    return frames;
  }

  reached(seq: number, waitMs: number): Promise<boolean> {
    if (this.lastSeq >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { seq, resolve };
      this.#waiters.push(waiter);
      setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(this.lastSeq >= seq);
      }, waitMs).unref();
    });
  }

  #wake(): void {
    const still: Waiter[] = [];
    for (const w of this.#waiters) (this.lastSeq >= w.seq ? w.resolve(true) : still.push(w));
    this.#waiters = still;
  }
}
