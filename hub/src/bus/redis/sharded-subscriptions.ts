import type { Redis } from 'ioredis';
import { BusUnavailableError } from '../bus.ts';
import type { BusLog } from '../bus-log.ts';
import { type ClusterTopology, splitAddress } from './cluster-topology.ts';
import { keySlot } from './key-slot.ts';
import { type ConnectionTarget, closeRedis, openRedis } from './redis-connection.ts';
import { toBusError } from './redis-errors.ts';
import type { SubscriptionEvents, Subscriptions } from './subscriptions.ts';
import type { TopologyWatch } from './topology-watch.ts';

/** How long an SSUBSCRIBE may take; ioredis never settles one that was answered MOVED, so this also ends those. */
const subscribeTimeoutMs = 5_000;
/** While a shard that carries channels is down, the topology is re-read this often to find its replacement. */
const recoverEveryMs = 200;

const noop = (): void => {};

/** One channel this process listens on, and the shard connection it is subscribed through. */
interface Placement {
  readonly slot: number;
  shard: Shard | undefined;
  /** outstanding adds (see ChannelSubscriptions) */
  count: number;
}

/**
 * Sharded pub/sub on a Redis Cluster: a subscriber connection per primary that owns a slot of a channel we listen
 * on, SSUBSCRIBE there, so each message crosses only the shard that owns its topic instead of every node of the
 * cluster (classic PUBLISH is broadcast over the cluster bus to every node).
 *
 * Channels follow their slot: when the topology changes (a failover promoted a replica, slots were migrated), each
 * channel is subscribed on its new primary and reported restored, so the bus reads what it missed from history.
 * A shard connection that drops reconnects by itself; while it is down the topology is re-read every 200 ms, since
 * a primary that does not come back is replaced by a replica.
 */
export class ShardedSubscriptions implements Subscriptions {
  readonly #shards = new Map<string, Shard>();
  readonly #channels = new Map<string, Placement>();
  #recoverTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly watch: TopologyWatch,
    private readonly node: (address: string) => ConnectionTarget,
    private readonly nodeId: string,
    private readonly log: BusLog,
    private readonly events: SubscriptionEvents,
  ) {
    watch.onChange((topology) => this.#rehome(topology));
  }

  async connect(): Promise<void> {
    // Shard connections open on demand, for the primaries that own a channel we listen on.
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#recoverTimer);
    this.#channels.clear();
    const shards = [...this.#shards.values()];
    this.#shards.clear();
    await Promise.all(shards.map((shard) => shard.close()));
  }

  async add(channel: string): Promise<void> {
    if (this.#closed) throw new BusUnavailableError('redis', new Error('the bus was closed'));
    let placement = this.#channels.get(channel);
    if (placement !== undefined) {
      placement.count++;
    } else {
      placement = { slot: keySlot(channel), shard: undefined, count: 1 };
      this.#channels.set(channel, placement);
    }
    try {
      const topology = this.watch.current ?? (await this.watch.refresh());
      const address = topology.primaryOf(placement.slot);
      if (address === undefined) throw new Error(`no primary serves slot ${placement.slot}`);
      if (placement.shard?.address !== address) this.#move(channel, placement, this.#shard(address));
      await placement.shard!.subscribed(channel);
    } catch (err) {
      if (err instanceof MovedError) this.watch.nudge();
      await this.remove(channel);
      throw toBusError(err);
    }
  }

  async remove(channel: string): Promise<void> {
    const placement = this.#channels.get(channel);
    if (placement === undefined) return;
    if (--placement.count > 0) return;
    this.#channels.delete(channel);
    const shard = placement.shard;
    placement.shard = undefined;
    if (shard !== undefined) await shard.drop(channel);
    this.#closeIdle();
  }

  isHealthy(): boolean {
    if (this.#closed) return false;
    for (const shard of this.#shards.values()) if (shard.channelCount > 0 && !shard.live) return false;
    return true;
  }

  /** The topology changed: every channel whose slot has a new primary is subscribed there. */
  #rehome(topology: ClusterTopology): void {
    if (this.#closed) return;
    for (const [channel, placement] of this.#channels) {
      const address = topology.primaryOf(placement.slot);
      if (address === undefined || placement.shard?.address === address) continue;
      this.#move(channel, placement, this.#shard(address));
    }
    this.#closeIdle();
  }

  /** Hands `channel` to `to`; its old shard lets go of it. Reported restored once `to` has subscribed it. */
  #move(channel: string, placement: Placement, to: Shard): void {
    const from = placement.shard;
    placement.shard = to;
    if (from !== undefined) void from.drop(channel);
    to.take(channel, from !== undefined);
  }

  #shard(address: string): Shard {
    let shard = this.#shards.get(address);
    if (shard === undefined) {
      shard = new Shard(address, openRedis(this.node(address), 'sub', this.nodeId, this.log), this.log, {
        message: this.events.message,
        restored: this.events.restored,
        down: () => this.#recover(),
        moved: () => this.watch.nudge(),
      });
      this.#shards.set(address, shard);
    }
    return shard;
  }

  #closeIdle(): void {
    for (const [address, shard] of this.#shards) {
      if (shard.channelCount > 0) continue;
      this.#shards.delete(address);
      void shard.close();
    }
  }

  /** A shard with channels is down: look for its replacement until every shard with channels is live again. */
  #recover(): void {
    if (this.#closed || this.#recoverTimer !== undefined) return;
    const tick = () => {
      this.#recoverTimer = undefined;
      if (this.#closed || this.isHealthy()) return;
      this.watch.nudge();
      this.#recoverTimer = setTimeout(tick, recoverEveryMs);
      this.#recoverTimer.unref();
    };
    this.#recoverTimer = setTimeout(tick, recoverEveryMs);
    this.#recoverTimer.unref();
  }
}

/** SSUBSCRIBE was answered MOVED: the slot has a new primary the topology does not show yet. */
class MovedError extends Error {
  override readonly name = 'MovedError';
}

interface ShardEvents extends SubscriptionEvents {
  down(): void;
  moved(): void;
}

/**
 * The subscriber connection to one primary and the channels subscribed through it. What {@link take} queues while
 * the connection is up goes out on the next microtask; after a reconnect every channel goes out again. A channel that
 * was subscribed before (a reconnect, a move from another shard) is reported restored once confirmed.
 */
class Shard {
  readonly #channels = new Set<string>();
  /** channel → callers of {@link subscribed} waiting for its confirmation */
  readonly #waiting = new Map<string, { resolve: () => void; reject: (err: unknown) => void }[]>();
  readonly #confirmed = new Set<string>();
  #queued = new Set<string>();
  /** channels that were subscribed before (here or on another shard): a gap to catch up once confirmed */
  readonly #resumed = new Set<string>();
  #flushScheduled = false;
  #closed = false;

  constructor(
    readonly address: string,
    private readonly redis: Redis,
    private readonly log: BusLog,
    private readonly events: ShardEvents,
  ) {
    redis.on('smessageBuffer', (channel: Buffer, message: Buffer) => events.message(channel, message));
    redis.on('moved', () => events.moved());
    redis.on('ready', () => {
      for (const channel of this.#channels) {
        this.#queued.add(channel);
        this.#resumed.add(channel);
      }
      this.#flush();
    });
    redis.on('close', () => {
      if (this.#closed) return;
      this.#confirmed.clear();
      if (this.#channels.size > 0) events.down();
    });
    redis.connect().catch(noop); // failures show as 'close'; ioredis keeps reconnecting until close()
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  /** Connected, and every channel of this shard confirmed subscribed. */
  get live(): boolean {
    return this.redis.status === 'ready' && this.#confirmed.size === this.#channels.size;
  }

  /** @param resumed the channel was subscribed elsewhere before, so messages may have been missed in between */
  take(channel: string, resumed: boolean): void {
    this.#channels.add(channel);
    if (resumed) this.#resumed.add(channel);
    if (this.redis.status !== 'ready') return; // 'ready' subscribes everything
    this.#queued.add(channel);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /** Resolves once `channel` is confirmed subscribed here; rejects after {@link subscribeTimeoutMs}. */
  subscribed(channel: string): Promise<void> {
    if (this.#confirmed.has(channel)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        settle();
        reject(this.redis.status === 'ready' ? new MovedError(`${this.address} did not confirm SSUBSCRIBE ${channel}`) : new Error(`${this.address} is unreachable`));
      }, subscribeTimeoutMs);
      const waiter = {
        resolve: () => (settle(), resolve()),
        reject: (err: unknown) => (settle(), reject(err)),
      };
      const settle = () => {
        clearTimeout(timer);
        const list = this.#waiting.get(channel);
        const index = list?.indexOf(waiter) ?? -1;
        if (index >= 0) list!.splice(index, 1);
        if (list?.length === 0) this.#waiting.delete(channel);
      };
      const list = this.#waiting.get(channel);
      if (list) list.push(waiter);
      else this.#waiting.set(channel, [waiter]);
    });
  }

  async drop(channel: string): Promise<void> {
    if (!this.#channels.delete(channel)) return;
    this.#queued.delete(channel);
    this.#confirmed.delete(channel);
    this.#resumed.delete(channel);
    for (const waiter of this.#waiting.get(channel) ?? []) waiter.reject(new Error(`${channel} moved away from ${this.address}`));
    if (this.redis.status === 'ready') await this.redis.sunsubscribe(channel).catch(noop);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const list of [...this.#waiting.values()]) for (const waiter of [...list]) waiter.reject(new Error('the bus was closed'));
    await closeRedis(this.redis);
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#queued.size === 0 || this.redis.status !== 'ready') return;
    const batch = [...this.#queued];
    this.#queued = new Set();
    // SSUBSCRIBE takes several channels only when they share a slot: one command per channel, pipelined by ioredis.
    for (const channel of batch) {
      withTimeout(this.redis.ssubscribe(channel), subscribeTimeoutMs).then(
        () => this.#confirm(channel),
        (err: unknown) => {
          if (this.#closed || !this.#channels.has(channel) || this.redis.status !== 'ready') return; // 'ready' retries
          // Answered MOVED (ioredis then emits 'moved', and the topology is re-read) or refused: try again shortly,
          // on whichever shard the channel belongs to by then.
          this.log.warn({ err, shard: this.address, channel }, 'sharded subscribe failed; retrying');
          setTimeout(() => {
            if (this.#channels.has(channel) && !this.#confirmed.has(channel)) this.take(channel, this.#resumed.has(channel));
          }, recoverEveryMs).unref();
        },
      );
    }
  }

  #confirm(channel: string): void {
    if (this.#closed || !this.#channels.has(channel)) return; // dropped meanwhile
    this.#confirmed.add(channel);
    for (const waiter of [...(this.#waiting.get(channel) ?? [])]) waiter.resolve();
    if (this.#resumed.delete(channel)) this.events.restored([channel]);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new MovedError(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (err: unknown) => (clearTimeout(timer), reject(err)),
    );
  });
}

/**
 * Connection options for the node at `address`, with the cluster's credentials.
 * @example nodeTarget('10.0.0.3:7001', { password: 's' }); // { host: '10.0.0.3', port: 7001, password: 's' }
 */
export function nodeTarget(address: string, options: object): ConnectionTarget {
  return { ...options, ...splitAddress(address) };
}
