import type { ConnectionGroup } from '../core/specs.ts';
import type { GroupStats, Recorder, Sequenced } from './recorder.ts';

/** One subscriber: connects, subscribes to its group's channel, records every message, fails over when told to. */
export interface BenchConnection extends Sequenced {
  /** resolves once subscribed (the server confirmed the `sub`) */
  open(): Promise<void>;
  readonly subscribed: boolean;
  /** closed for good: dropped without a failover URL, or closed by the bench */
  readonly dead: boolean;
  /** when the server went away (ms, 0 = never), and when the connection was subscribed again */
  readonly droppedAt: number;
  readonly backAt: number;
  /** socket.io only: the server restored the session (connection-state recovery) */
  readonly recovered: boolean;
  close(): void;
}

export interface ConnectionSetup {
  readonly group: ConnectionGroup;
  readonly stats: GroupStats;
  readonly recorder: Recorder;
  readonly token: string;
  /** the server's name for the channel: an opshub topic, or a socket.io room */
  readonly name: string;
  readonly localAddress: string | undefined;
}

/**
 * The reconnect schedule both clients use, socket.io-client's own (`reconnectionDelay` 100 ms doubling to
 * 1 s, ±50 % jitter), so failover times compare like with like.
 * @example reconnectDelay(0) // 50…150
 */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(1000, 100 * 2 ** attempt);
  return base * (0.5 + Math.random());
}
