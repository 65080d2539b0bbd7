import { randomUUID } from 'node:crypto';
import {
  type Bus,
  type BusListener,
  type BusMessage,
  type BusStats,
  type History,
  type Retention,
  type SignalListener,
  BusUnavailableError,
  defaultReplayBudgetBytes,
  defaultRetention,
  msgFrame,
} from '../bus.ts';
import { assertRetention, assertSince, encodeData } from '../bus-input.ts';
import { type BusLog, consoleBusLog } from '../bus-log.ts';
import { deliver, withListener, withoutListener } from '../listeners.ts';
import { newNodeId } from '../node-id.ts';
import { RetainedLog } from './retained-log.ts';

export interface MemoryBusOptions {
  readonly retention?: Retention;
  /** Bytes of retained frames across every topic; beyond it the process's oldest go first. Default 64 MiB. */
  readonly budgetBytes?: number;
  readonly nodeId?: string;
  /** Where throwing listeners are reported; the console when omitted. */
  readonly log?: BusLog;
}

/**
 * The embedded Bus: one process is one node, so fan-out is a function call. Same semantics as the Redis bus
 * (per-topic seq from 1, retention, `reset`) so code written against one runs unchanged on the other.
 *
 * Listeners run synchronously inside `publish`, in seq order; by the time `publish` resolves every local
 * listener has seen the message. Signals reach nobody: they exist for *other* processes, and there are none.
 * Two MemoryBus instances do not see each other (each is its own backend); share one instance instead.
 *
 * @example
 * const bus = new MemoryBus({ retention: { messages: 1000, ms: 60_000, maxMessages: 10_000, maxBytes: 4 << 20 }, budgetBytes: 64 << 20 });
 * await bus.subscribe('event/expo/alerts', (m) => ws.send(m.frame));
 * await bus.publish('event/expo/alerts', { kind: 'capacity', zone: 'hall-a' }); // listener already ran
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly nodeId: string;
  /** An in-process bus forgets everything when the process ends: every instance is a new epoch. */
  readonly #epoch = randomUUID();
  readonly #topics = new Map<string, MemoryTopic>();
  readonly #retention: Retention;
  readonly #budgetBytes: number;
  /**
   * Every retained message's topic, in publish order: the oldest of the whole process is at the front. A topic's
   * own trimming drops its oldest without touching this queue; `staleInQueue` counts those, so the queue skips
   * them when it reaches them (per topic both are first in, first out, so the counts line up).
   */
  readonly #order = new TopicQueue();
  /** entries of `#order` that are stale; the queue is rebuilt without them once they are most of it */
  #stale = 0;
  #bytes = 0;
  readonly #log: BusLog;
  readonly #stats: BusStats = { published: 0, delivered: 0, gapsFilled: 0, lagMs: 0 };
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#retention = options.retention ?? defaultRetention;
    assertRetention(this.#retention);
    this.#budgetBytes = options.budgetBytes ?? defaultReplayBudgetBytes;
    if (!Number.isSafeInteger(this.#budgetBytes) || this.#budgetBytes < 0) throw new RangeError(`budgetBytes must be a non-negative integer, got ${this.#budgetBytes}`);
    this.nodeId = options.nodeId ?? newNodeId();
    this.#log = options.log ?? consoleBusLog;
  }

  epoch(): string {
    return this.#epoch;
  }

  async start(): Promise<void> {
    this.#assertOpen();
  }

  /** Idempotent. Drops every topic and listener; later calls reject with {@link BusUnavailableError}. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#topics.clear();
    this.#order.clear();
    this.#stale = 0;
    this.#bytes = 0;
  }

  isHealthy(): boolean {
    return !this.#closed;
  }

  async publish(topic: string, data: unknown): Promise<BusMessage> {
    this.#assertOpen();
    const dataJson = encodeData(data);
    const state = this.#topic(topic);
    const seq = ++state.seq;
    const ts = Date.now();
    const message: BusMessage = { topic, seq, ts, frame: msgFrame(topic, seq, ts, dataJson) };
    this.#retain(state, message);
    this.#stats.published++;
    if (state.listeners.length > 0) this.#dispatch(state, message);
    return message;
  }

  async subscribe(topic: string, listener: BusListener): Promise<void> {
    this.#assertOpen();
    const state = this.#topic(topic);
    state.listeners = withListener(state.listeners, listener);
  }

  async unsubscribe(topic: string, listener: BusListener): Promise<void> {
    const state = this.#topics.get(topic);
    if (!state) return;
    state.listeners = withoutListener(state.listeners, listener);
    // A topic that never carried a message holds nothing worth keeping once its last listener leaves.
    if (state.listeners.length === 0 && state.seq === 0) this.#topics.delete(topic);
  }

  async history(topic: string, since: number): Promise<History> {
    this.#assertOpen();
    assertSince(since);
    const state = this.#topics.get(topic);
    const head = state?.seq ?? 0;
    if (since > head) return { kind: 'reset', head };
    const messages = state ? state.log.after(topic, since, head) : [];
    return messages ? { kind: 'messages', head, messages } : { kind: 'reset', head };
  }

  async head(topic: string): Promise<number> {
    this.#assertOpen();
    return this.#topics.get(topic)?.seq ?? 0;
  }

  /** Resolves without delivering anything: a signal is for the other processes, and this bus has none. */
  async signal(_channel: string, _payload: Uint8Array): Promise<void> {
    this.#assertOpen();
  }

  /** Accepted and never called (see {@link signal}). */
  async onSignal(_channel: string, _listener: SignalListener): Promise<void> {
    this.#assertOpen();
  }

  async offSignal(_channel: string, _listener: SignalListener): Promise<void> {}

  stats(): BusStats {
    return { ...this.#stats };
  }

  /** Bytes of retained frames across every topic (for the bench's memory figures and `/metrics`). */
  retainedBytes(): number {
    return this.#bytes;
  }

  #retain(state: MemoryTopic, message: BusMessage): void {
    // Bytes as they go out (UTF-8), the unit the Redis bus counts in too.
    const size = Buffer.byteLength(message.frame);
    const before = state.log.length;
    this.#bytes += size - state.log.append(message.frame, message.ts, size);
    const trimmed = before + 1 - state.log.length;
    state.staleInQueue += trimmed;
    this.#stale += trimmed;
    this.#order.push(state);
    while (this.#bytes > this.#budgetBytes) {
      const oldest = this.#order.shift();
      if (oldest === undefined) break;
      if (oldest.staleInQueue > 0) {
        oldest.staleInQueue--;
        this.#stale--;
      } else {
        this.#bytes -= oldest.log.dropOldest();
      }
    }
    // Under the budget nothing pops the queue, and a quiet topic's message at its front can stay for good while
    // busy topics trim themselves behind it: rebuild it without the stale entries (amortised O(1) per publish).
    if (this.#stale > 1024 && this.#stale * 2 > this.#order.length) {
      this.#order.retain((topic) => {
        if (topic.staleInQueue === 0) return true;
        topic.staleInQueue--;
        return false;
      });
      this.#stale = 0;
    }
  }

  #topic(topic: string): MemoryTopic {
    let state = this.#topics.get(topic);
    if (!state) {
      state = new MemoryTopic(this.#retention);
      this.#topics.set(topic, state);
    }
    return state;
  }

  /**
   * A listener may publish to the topic it is listening to. Delivering that nested message at once would hand it
   * to the remaining listeners before the message they are still owed, so it waits in the backlog instead.
   */
  #dispatch(state: MemoryTopic, message: BusMessage): void {
    if (state.delivering) {
      (state.backlog ??= []).push(message);
      return;
    }
    state.delivering = true;
    try {
      this.#stats.delivered += deliver(state.listeners, message, this.#log);
      while (state.backlog && state.backlog.length > 0) {
        this.#stats.delivered += deliver(state.listeners, state.backlog.shift()!, this.#log);
      }
    } finally {
      state.delivering = false;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusUnavailableError('memory', new Error('the bus was closed'));
  }
}

class MemoryTopic {
  seq = 0;
  listeners: readonly BusListener[] = [];
  delivering = false;
  backlog: BusMessage[] | undefined;
  /** entries of this topic in the bus's queue whose message the topic already trimmed itself */
  staleInQueue = 0;
  readonly log: RetainedLog;

  constructor(retention: Retention) {
    this.log = new RetainedLog(retention);
  }
}

/** A first-in, first-out queue of topics; O(1) both ends, compacted once the dead prefix dominates. */
class TopicQueue {
  #items: (MemoryTopic | undefined)[] = [];
  #start = 0;

  get length(): number {
    return this.#items.length - this.#start;
  }

  push(topic: MemoryTopic): void {
    this.#items.push(topic);
  }

  /** Keeps the entries `keep` accepts, in order; `keep` sees them oldest first. */
  retain(keep: (topic: MemoryTopic) => boolean): void {
    const kept: MemoryTopic[] = [];
    for (let i = this.#start; i < this.#items.length; i++) if (keep(this.#items[i]!)) kept.push(this.#items[i]!);
    this.#items = kept;
    this.#start = 0;
  }

  shift(): MemoryTopic | undefined {
    if (this.#start >= this.#items.length) return undefined;
    const topic = this.#items[this.#start];
    this.#items[this.#start++] = undefined;
    if (this.#start >= 1024 && this.#start * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#start);
      this.#start = 0;
    }
    return topic;
  }

  clear(): void {
    this.#items = [];
    this.#start = 0;
  }
}
