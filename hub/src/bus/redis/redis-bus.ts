import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
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
import { KeySpace, type TopicKeys } from './keys.ts';
import { clusterNodeOptions, closeRedis, connectCluster, everyNodeOpen, openCluster, openRedis } from './redis-connection.ts';
import { toBusError } from './redis-errors.ts';
import { parseRedisTarget } from './redis-target.ts';
import { RetryGate } from './retry-gate.ts';
import { ReplicatedPublisher } from './replicated-publisher.ts';
import { historyScript, publishScript, runScript } from './scripts.ts';
import { ShardedSubscriptions, nodeTarget } from './sharded-subscriptions.ts';
import { SignalCodec } from './signal-codec.ts';
import { ChannelSubscriptions, type Subscriptions } from './subscriptions.ts';
import { TopologyWatch } from './topology-watch.ts';
import { type FeedHost, TopicFeed } from './topic-feed.ts';

export interface RedisBusOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS; a Redis Cluster as
   * `redis+cluster://[user[:password]@]host:port[,host:port…]` (or `rediss+cluster://`), any of its nodes as seeds.
   */
  readonly url: string;
  /** Namespaces every key and channel, so deployments (or test runs) can share one Redis. Default `opshub:`. */
  readonly keyPrefix?: string;
  readonly retention?: Retention;
  /** Unique per process; generated when omitted. */
  readonly nodeId?: string;
  /** Outages, recoveries and throwing listeners are reported here; the console when omitted. */
  readonly log?: BusLog;
  /**
   * Cluster only: how long a publish waits for a replica of its shard to confirm it (WAIT) before it is refused.
   * Default 1000 ms.
   */
  readonly replicaWaitMs?: number;
}

/** Listeners of one signal channel. */
interface SignalRoute {
  readonly kind: 'signal';
  listeners: readonly SignalListener[];
  ready: Promise<void>;
}

type Route = TopicFeed | SignalRoute;

/**
 * The distributed Bus: every hub process on the same Redis (and key prefix) is a node.
 *
 * Publishing runs one Lua script that assigns the seq, stores the finished frame in the topic's history and
 * PUBLISHes it, atomically, so channel order is seq order. Every node, the publisher included, delivers from its
 * subscriber connection; a {@link TopicFeed} per topic drops duplicates and fills gaps left by a reconnect from
 * history. Commands go over a second connection without an offline queue, so during an outage they fail at once
 * with {@link BusUnavailableError} instead of piling up.
 *
 * On a Redis Cluster the same script runs on the primary that owns the topic's slot (every key and the channel share
 * the topic's hash tag) and uses sharded pub/sub (SPUBLISH), so a message crosses only that shard; subscriptions
 * follow their slots across failovers ({@link ShardedSubscriptions}). A publish is acknowledged only once a replica
 * of the shard holds it too (WAIT), so a failover can neither lose it nor hand its seq to another message.
 *
 * @example
 * const bus = new RedisBus({ url: 'redis://127.0.0.1:6379', log });
 * await bus.start();
 * await bus.subscribe('event/expo/alerts', (m) => app.publish(m.topic, m.frame));
 * const { seq } = await bus.publish('event/expo/alerts', { kind: 'gate_offline', gate: 'north-1' });
 */
export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  readonly nodeId: string;
  /** Publishes, history, heads and signals. */
  readonly #cmd: Redis | Cluster;
  /** The channels this node listens on. */
  readonly #sub: Subscriptions;
  /** Cluster only: who owns each slot and how many replicas it has. */
  readonly #topology: TopologyWatch | undefined;
  /** Cluster only: publishes grouped per primary, each group confirmed by a replica (WAIT). */
  readonly #replicated: ReplicatedPublisher | undefined;
  readonly #keys: KeySpace;
  readonly #codec: SignalCodec;
  readonly #log: BusLog;
  /** Channel → what listens on it; exactly the channels to (re)subscribe. */
  readonly #routes = new Map<string, Route>();
  readonly #gate = new RetryGate();
  readonly #feedHost: FeedHost;
  readonly #stats: BusStats = { published: 0, delivered: 0, gapsFilled: 0, lagMs: 0 };
  // Script arguments that never change, stringified once.
  readonly #keepMessages: string;
  readonly #keepMs: string;
  readonly #maxMessages: string;
  readonly #maxBytes: string;
  readonly #ttlSeconds: string;
  #starting: Promise<void> | undefined;
  #epoch = '';
  #closing: Promise<void> | undefined;

  constructor(options: RedisBusOptions) {
    const retention = options.retention ?? defaultRetention;
    assertRetention(retention);
    this.nodeId = options.nodeId ?? newNodeId();
    this.#log = options.log ?? consoleBusLog;
    this.#codec = new SignalCodec(this.nodeId);
    this.#keys = new KeySpace(options.keyPrefix ?? 'opshub:');
    this.#keepMessages = String(retention.messages);
    this.#keepMs = String(retention.ms);
    this.#maxMessages = String(retention.maxMessages);
    this.#maxBytes = String(retention.maxBytes);
    // Long enough that a topic alive in the afternoon still has its morning's retention; dead topics go away.
    this.#ttlSeconds = String(Math.max(86_400, Math.ceil(retention.ms / 1000) + 3600));

    const events = {
      message: (channel: Buffer, message: Buffer) => this.#onMessage(channel, message),
      restored: (channels: readonly string[]) => this.#restored(channels),
    };
    const target = parseRedisTarget(options.url);
    if (target.kind === 'single') {
      this.#cmd = openRedis(target.url, 'cmd', this.nodeId, this.#log);
      this.#sub = new ChannelSubscriptions(target.url, this.nodeId, this.#log, events);
      this.#topology = undefined;
      this.#replicated = undefined;
    } else {
      const cluster = openCluster(target, this.nodeId, this.#log);
      const nodeOptions = clusterNodeOptions(target);
      this.#cmd = cluster;
      this.#topology = new TopologyWatch(cluster, target.nodes[0]!.host, this.#log);
      this.#replicated = new ReplicatedPublisher(cluster, this.#topology, options.replicaWaitMs ?? 1_000);
      this.#sub = new ShardedSubscriptions(this.#topology, (address) => nodeTarget(address, nodeOptions), this.nodeId, this.#log, events);
    }
    this.#cmd.on('ready', () => this.#gate.open());

    this.#feedHost = {
      history: (keys, since) => this.#history(keys, since),
      deliver: (listeners, message) => {
        this.#stats.delivered += deliver(listeners, message, this.#log);
      },
      filled: () => {
        this.#stats.gapsFilled++;
      },
      waitToRetry: (attempt) => this.#gate.wait(attempt),
      log: this.#log,
    };
  }

  /**
   * Connects both connections. Rejects with {@link BusUnavailableError} when Redis cannot be reached; the bus keeps
   * trying in the background until {@link close}, so a caller may also choose to run degraded.
   */
  start(): Promise<void> {
    this.#starting ??= this.#connect();
    return this.#starting;
  }

  /** Idempotent. Quits both connections and cancels every retry: nothing of the bus keeps the process alive. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  epoch(): string {
    return this.#epoch;
  }

  isHealthy(): boolean {
    return this.#closing === undefined && this.#cmd.status === 'ready' && this.#sub.isHealthy();
  }

  async publish(topic: string, data: unknown): Promise<BusMessage> {
    const dataJson = encodeData(data);
    const keys = this.#keys.topic(topic);
    const args = [keys.seq, keys.log, keys.times, keys.bytes, keys.topicJson, dataJson, this.#keepMessages, this.#keepMs, this.#maxMessages, this.#ttlSeconds, keys.channel, this.#maxBytes];
    let reply: unknown;
    try {
      reply = this.#replicated === undefined ? await runScript(this.#cmd, publishScript, 4, args) : await this.#replicated.publish(keys, args);
    } catch (err) {
      throw toBusError(err);
    }
    const [seq, ts] = reply as [number, number];
    this.#stats.published++;
    return { topic, seq, ts, frame: msgFrame(topic, seq, ts, dataJson) };
  }

  async subscribe(topic: string, listener: BusListener): Promise<void> {
    this.#assertOpen();
    const keys = this.#keys.topic(topic);
    let feed = this.#routes.get(keys.channel) as TopicFeed | undefined;
    if (feed === undefined) {
      feed = new TopicFeed(keys, this.#feedHost);
      this.#routes.set(keys.channel, feed);
      feed.ready = this.#open(feed);
    }
    feed.listeners = withListener(feed.listeners, listener);
    await feed.ready;
  }

  async unsubscribe(topic: string, listener: BusListener): Promise<void> {
    const { channel } = this.#keys.topic(topic);
    const feed = this.#routes.get(channel);
    if (feed?.kind !== 'topic') return;
    feed.listeners = withoutListener(feed.listeners, listener);
    if (feed.listeners.length > 0) return;
    this.#routes.delete(channel);
    feed.close();
    await this.#sub.remove(channel);
  }

  async history(topic: string, since: number): Promise<History> {
    assertSince(since);
    return this.#history(this.#keys.topic(topic), since);
  }

  async head(topic: string): Promise<number> {
    return this.#head(this.#keys.topic(topic));
  }

  async signal(channel: string, payload: Uint8Array): Promise<void> {
    try {
      const name = this.#keys.signalChannel(channel);
      const message = this.#codec.encode(payload);
      await (this.#topology === undefined ? this.#cmd.publish(name, message) : this.#cmd.spublish(name, message));
    } catch (err) {
      throw toBusError(err);
    }
  }

  async onSignal(channel: string, listener: SignalListener): Promise<void> {
    this.#assertOpen();
    const name = this.#keys.signalChannel(channel);
    let route = this.#routes.get(name) as SignalRoute | undefined;
    if (route === undefined) {
      const created: SignalRoute = { kind: 'signal', listeners: [], ready: Promise.resolve() };
      this.#routes.set(name, created);
      created.ready = this.#sub.add(name).catch((err: unknown) => {
        if (this.#routes.get(name) === created) this.#routes.delete(name);
        throw toBusError(err);
      });
      route = created;
    }
    route.listeners = withListener(route.listeners, listener);
    await route.ready;
  }

  async offSignal(channel: string, listener: SignalListener): Promise<void> {
    const name = this.#keys.signalChannel(channel);
    const route = this.#routes.get(name);
    if (route?.kind !== 'signal') return;
    route.listeners = withoutListener(route.listeners, listener);
    if (route.listeners.length > 0) return;
    this.#routes.delete(name);
    await this.#sub.remove(name);
  }

  stats(): BusStats {
    return { ...this.#stats };
  }

  async #connect(): Promise<void> {
    // allSettled, not all: the second connect's rejection must not go unhandled after the first one failed.
    const results = await Promise.allSettled([this.#topology === undefined ? this.#cmd.connect() : connectCluster(this.#cmd as Cluster), this.#sub.connect()]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw new BusUnavailableError('redis', failed.reason);
    if (this.#topology !== undefined) {
      try {
        await everyNodeOpen(this.#cmd as Cluster, 5_000);
        await this.#topology.start();
      } catch (err) {
        throw toBusError(err);
      }
    }
    // Shared by every hub on this Redis: the first to start names the epoch, the others read it.
    const key = `${this.#keys.prefix}epoch`;
    await this.#cmd.set(key, randomUUID(), 'NX');
    this.#epoch = (await this.#cmd.get(key)) ?? '';
  }

  async #shutdown(): Promise<void> {
    this.#gate.close();
    this.#topology?.close();
    for (const route of this.#routes.values()) if (route.kind === 'topic') route.close();
    this.#routes.clear();
    await Promise.all([closeRedis(this.#cmd), this.#sub.close()]);
  }

  /** Subscribes a new topic feed, then reads the head: earlier messages are history's, later ones arrive here. */
  async #open(feed: TopicFeed): Promise<void> {
    const { channel } = feed.keys;
    let added = false;
    try {
      await this.#sub.add(channel);
      added = true;
      feed.start(await this.#head(feed.keys));
    } catch (err) {
      if (this.#routes.get(channel) === feed) {
        this.#routes.delete(channel);
        feed.close();
        if (added) void this.#sub.remove(channel);
      }
      throw toBusError(err);
    }
  }

  /** Channels are subscribed again after an interruption: their feeds read what they missed from history. */
  #restored(channels: readonly string[]): void {
    if (this.#closing) return;
    for (const channel of channels) {
      const route = this.#routes.get(channel);
      if (route?.kind === 'topic') route.catchUp();
    }
  }

  #onMessage(channel: Buffer, message: Buffer): void {
    const route = this.#routes.get(channel.toString());
    if (route === undefined) return; // in flight when its last listener left
    if (route.kind === 'topic') this.#receiveFrame(route, message.toString());
    else this.#receiveSignal(route, message);
  }

  #receiveFrame(feed: TopicFeed, frame: string): void {
    const { reader, topic } = feed.keys;
    if (!reader.read(frame)) {
      this.#log.warn({ topic, frame: frame.slice(0, 200) }, 'dropped a frame that is not a message of this topic');
      return;
    }
    this.#stats.lagMs = Date.now() - reader.ts;
    feed.receive({ topic, seq: reader.seq, ts: reader.ts, frame });
  }

  #receiveSignal(route: SignalRoute, message: Buffer): void {
    const signal = this.#codec.decode(message);
    if (signal === undefined) return; // our own echo
    const { listeners } = route;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(signal.payload, signal.from);
      } catch (err) {
        this.#log.error({ err, from: signal.from }, 'signal listener threw');
      }
    }
  }

  async #history(keys: TopicKeys, since: number): Promise<History> {
    let reply: unknown;
    try {
      reply = await runScript(this.#cmd, historyScript, 2, [keys.seq, keys.log, since]);
    } catch (err) {
      throw toBusError(err);
    }
    const [head, reset, frames] = reply as [number, number, string[] | undefined];
    if (reset === 1 || frames === undefined) return { kind: 'reset', head };
    const { reader, topic } = keys;
    const messages: BusMessage[] = new Array(frames.length);
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      if (!reader.read(frame) || reader.seq !== since + 1 + i) {
        // Only something other than this bus writing to our keys gets here; a reset makes clients refetch state.
        this.#log.error({ topic, since, index: i }, 'history holds a frame out of sequence; answering reset');
        return { kind: 'reset', head };
      }
      messages[i] = { topic, seq: reader.seq, ts: reader.ts, frame };
    }
    return { kind: 'messages', head, messages };
  }

  async #head(keys: TopicKeys): Promise<number> {
    let value: string | null;
    try {
      value = await this.#cmd.get(keys.seq);
    } catch (err) {
      throw toBusError(err);
    }
    return value === null ? 0 : Number(value);
  }

  #assertOpen(): void {
    if (this.#closing) throw new BusUnavailableError('redis', new Error('the bus was closed'));
  }
}
