/**
 * Transaction origins on a hub's Yjs docs. Every change is tagged with where it came from, so an update that came
 * from the Store or from another hub (over the bus) is never stored or relayed to other hubs again.
 * A change from a socket carries the socket's connection object as its origin.
 */
export const Origin = {
  /** loaded from the Store (snapshot, update log, or another hub's updates found by the anti-entropy poll) */
  store: Symbol('store'),
  /** received from another hub process over the bus */
  bus: Symbol('bus'),
  /** written by this hub itself: roster and meta projection */
  hub: Symbol('hub'),
} as const;

/** True when an update entered through this process and must be persisted and sent to the other hubs. */
export function isLocalEntry(origin: unknown): boolean {
  return origin !== Origin.store && origin !== Origin.bus;
}

/** The origin of a change made by a socket on `/yjs`: which role wrote it. */
export interface SocketOrigin {
  readonly kind: 'socket';
  readonly id: number;
  readonly role: string;
  readonly sub: string;
  /** the token's `gate` claim: the only gate this socket may speak for */
  readonly gate?: string | undefined;
}

export function isSocketOrigin(origin: unknown): origin is SocketOrigin {
  return typeof origin === 'object' && origin !== null && (origin as { kind?: unknown }).kind === 'socket';
}
