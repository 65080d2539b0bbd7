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
 * const bus = new MemoryBus({ retention: { messages: 1000, ms: 60_000, maxMessages: 10_000 } });
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
  readonly #log: BusLog;
  readonly #stats: BusStats = { published: 0, delivered: 0, gapsFilled: 0, lagMs: 0 };
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#retention = options.retention ?? defaultRetention;
    assertRetention(this.#retention);
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
    state.log.append(message, ts);
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
    const messages = state ? state.log.after(since, head) : [];
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
  readonly log: RetainedLog;

  constructor(retention: Retention) {
    this.log = new RetainedLog(retention);
  }
}
