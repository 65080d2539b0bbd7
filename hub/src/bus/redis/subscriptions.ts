import type { Redis } from 'ioredis';
import type { BusLog } from '../bus-log.ts';
import { closeRedis, openRedis } from './redis-connection.ts';
import { toBusError } from './redis-errors.ts';

/** What a subscriber connection reports to its bus. */
export interface SubscriptionEvents {
  message(channel: Buffer, message: Buffer): void;
  /**
   * These channels are subscribed again after an interruption (a reconnect, or a move to another cluster node):
   * whatever was published on them in between was missed and must be read from history.
   */
  restored(channels: readonly string[]): void;
}

/**
 * The receiving side of the Redis bus: which channels this process listens on, kept subscribed across reconnects.
 * One Redis uses classic pub/sub on one connection ({@link ChannelSubscriptions}); a Redis Cluster uses sharded
 * pub/sub on a connection per primary (`ShardedSubscriptions`).
 */
export interface Subscriptions {
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Resolves once messages published on `channel` from now on arrive; rejects with `BusUnavailableError`. */
  add(channel: string): Promise<void>;
  /** Never rejects: after a reconnect only channels still added are subscribed. */
  remove(channel: string): Promise<void>;
  isHealthy(): boolean;
}

const noop = (): void => {};

/**
 * Classic pub/sub on one connection (a single Redis server). When the connection comes back every channel is
 * subscribed again in one command, and only then reported restored, so history is read after the subscription is live.
 */
export class ChannelSubscriptions implements Subscriptions {
  readonly #redis: Redis;
  /** Channel → how many adds it has outstanding (a failed add racing a newer one must not drop the newer). */
  readonly #channels = new Map<string, number>();
  #closed = false;

  constructor(url: string, nodeId: string, log: BusLog, events: SubscriptionEvents) {
    this.#redis = openRedis(url, 'sub', nodeId, log);
    this.#redis.on('messageBuffer', (channel: Buffer, message: Buffer) => events.message(channel, message));
    this.#redis.on('ready', () => {
      if (this.#closed || this.#channels.size === 0) return;
      const channels = [...this.#channels.keys()];
      this.#redis.subscribe(...channels).then(
        () => events.restored(channels),
        (err: unknown) => {
          if (this.#closed || this.#redis.status !== 'ready') return; // the next 'ready' tries again
          // Connected but not subscribed would be a silent hole: reconnect and go through this again.
          log.warn({ err }, 'resubscribing failed; reconnecting the subscriber');
          this.#redis.disconnect(true);
        },
      );
    });
  }

  async connect(): Promise<void> {
    await this.#redis.connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    await closeRedis(this.#redis);
  }

  async add(channel: string): Promise<void> {
    this.#channels.set(channel, (this.#channels.get(channel) ?? 0) + 1);
    try {
      await this.#redis.subscribe(channel);
    } catch (err) {
      await this.remove(channel);
      throw toBusError(err);
    }
  }

  async remove(channel: string): Promise<void> {
    const count = (this.#channels.get(channel) ?? 0) - 1;
    if (count > 0) {
      this.#channels.set(channel, count);
      return;
    }
    this.#channels.delete(channel);
    // If Redis is away there is nothing to undo: after a reconnect only channels still added are subscribed.
    await this.#redis.unsubscribe(channel).catch(noop);
  }

  isHealthy(): boolean {
    return !this.#closed && this.#redis.status === 'ready';
  }
}
