import type { LiveMessage, Subscription, TopicSink } from '../live/live-connection.ts';
import type { StartFrom } from '../live/topic-cursor.ts';

/** The slice of the live socket this needs (a fake stands in for it in unit tests). */
export interface Subscriber {
  subscribe(topic: string, sink: TopicSink, from?: StartFrom): Subscription;
}

export interface SyncedTopic {
  readonly topic: string;
  /** each message's `data`, in seq order, exactly once per delivery (applied as an upsert) */
  message(data: unknown): void;
}

export interface SnapshotSyncOptions {
  readonly live: Subscriber;
  readonly topics: readonly SyncedTopic[];
  /**
   * Fetches the state over REST, applies it, and answers the seq each topic's state was read at (same order as
   * `topics`; undefined for a topic the body carries no seq for).
   */
  readonly load: () => Promise<readonly (number | undefined)[]>;
  readonly onError: (message: string) => void;
  /** after each batch of messages and each applied snapshot */
  readonly onChange?: () => void;
}

/**
 * Keeps a page's state equal to the hub's for topics whose REST state carries the topic's `seq` (the engagement
 * bodies do): subscribe live; once the hub confirms, fetch the state, apply it, and resume each topic from the seq
 * the state was read at, so every message after the snapshot is applied on top of it, including any that arrived
 * while the snapshot was in flight (they are replayed after it). A `reset` does the same again. Messages are upserts,
 * so applying one the snapshot already reflects is harmless.
 *
 * @example
 * const sync = new SnapshotSync({ live, topics: [{ topic, message: (d) => model.apply(d) }], load: async () => [(await fetchState()).seq], onError });
 * $effect(() => sync.start());
 */
export class SnapshotSync {
  #subscriptions: Subscription[] = [];
  #loaded = false;
  #loading: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(private readonly options: SnapshotSyncOptions) {}

  /** True once a snapshot has been applied. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Subscribes every topic; answers a function that unsubscribes them. */
  start(): () => void {
    this.#stopped = false;
    this.#subscriptions = this.options.topics.map((t) => this.options.live.subscribe(t.topic, this.#sink(t), 'live'));
    return () => {
      this.#stopped = true;
      for (const s of this.#subscriptions) s.close();
      this.#subscriptions = [];
    };
  }

  /** Fetches and applies the state now (a second call while one runs queues one more). */
  refresh(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = this.#load().finally(() => {
      this.#loading = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    try {
      const seqs = await this.options.load();
      if (this.#stopped) return;
      this.#loaded = true;
      seqs.forEach((seq, i) => {
        if (seq !== undefined) this.#subscriptions[i]?.resume(seq);
      });
      this.options.onChange?.();
    } catch (error) {
      this.options.onError(error instanceof Error ? error.message : String(error));
    }
  }

  #sink(topic: SyncedTopic): TopicSink {
    return {
      messages: (batch: readonly LiveMessage[]) => {
        for (const m of batch) topic.message(m.data);
        this.options.onChange?.();
      },
      live: () => {
        if (!this.#loaded) void this.refresh();
      },
      reset: () => void this.refresh(),
      refused: (_code, message) => this.options.onError(message),
    };
  }
}
