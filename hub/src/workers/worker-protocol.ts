/**
 * Messages between the hub's main thread and its socket workers (HUB_WORKERS > 1). Both ends are this process's
 * own code, so these are plain types, not a trust boundary: what a client sends is validated on the main thread,
 * exactly as on the single-thread path.
 */
import type { Claims } from '@opshub/schema';
import type { WsLimits } from '../transport/ws-endpoint.ts';

/** How a worker verifies tokens by itself (a verifier object cannot cross threads; its parameters can). */
export type WorkerAuth =
  | { readonly kind: 'hs256'; readonly secret: string }
  | { readonly kind: 'jwks'; readonly jwksUrl: string; readonly issuer: string; readonly audience: string };

export interface WorkerStart {
  readonly index: number;
  readonly auth: WorkerAuth;
  readonly limits: WsLimits;
  /** the main thread's loopback listener: REST and /yjs are forwarded there */
  readonly internalPort: number;
  /** proves to the main thread that a forwarded request's peer address was set by a worker (see transport/forwarded-peer.ts) */
  readonly hopSecret: string;
  /** open sockets per identity, shared by all workers (shared-socket-counts.ts) */
  readonly socketCounts: SharedArrayBuffer;
}

/** A revocation as the list holds it (auth/revocation-list.ts). */
export interface RevocationEntry {
  readonly kind: 'jti' | 'sub';
  readonly value: string;
  readonly revokedAt: number;
}

/**
 * main → worker, applied strictly in order. Sends, subscriptions and publishes share one ordered queue: a socket
 * that is sent its catch-up frames and then subscribed sees every later publish, and none before (the same
 * "send, then join in one synchronous step" the relay relies on in one thread).
 */
export type Op =
  | readonly ['send', conn: number, frame: string]
  | readonly ['end', conn: number, code: number, reason: string]
  | readonly ['sub', conn: number, topic: string]
  | readonly ['unsub', conn: number, topic: string]
  | readonly ['pub', topic: string, frame: string];

export type ToWorker =
  | { readonly t: 'listen'; readonly host: string; readonly port: number }
  | { readonly t: 'ops'; readonly ops: readonly Op[] }
  | { readonly t: 'revoked'; readonly entries: readonly RevocationEntry[] }
  | { readonly t: 'stop' };

/** worker → main, in the order the worker's uWS loop saw them. */
export type Event =
  | readonly ['open', conn: number, claims: Claims]
  /** `at`: when the worker read the frame, in ms since the epoch (performance.timeOrigin + performance.now()) */
  | readonly ['msg', conn: number, data: ArrayBuffer, isBinary: boolean, at: number]
  | readonly ['close', conn: number, code: number]
  /** an upgrade refused in the worker (metrics on the main thread count it) */
  | readonly ['refused', code: string];

export type FromWorker =
  | { readonly t: 'listening'; readonly port: number | false }
  | { readonly t: 'events'; readonly events: readonly Event[] }
  /** bytes still buffered per socket (only sockets that have, or just had, a backlog): the slow-consumer sweep reads them */
  | { readonly t: 'buffered'; readonly entries: readonly (readonly [conn: number, bytes: number])[] }
  | { readonly t: 'stopped' };
