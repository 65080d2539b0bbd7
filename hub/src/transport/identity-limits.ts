import type { Claims, Role } from '@opshub/schema';
import { TokenBucket } from './rate-limiter.ts';

/** Roles whose identities are limited: anyone may get an attendee token (a join code mints them for a room). */
const LIMITED: ReadonlySet<Role> = new Set(['attendee']);

interface Identity {
  sockets: number;
  readonly bucket: TokenBucket;
  /** commands are refused in memory until then (performance.now() ms) */
  coolUntil: number;
}

export interface IdentityLimitOptions {
  readonly maxSocketsPerIdentity: number;
  readonly identityCommandsPerSecond: number;
  readonly identityCommandBurst: number;
  readonly refusedCooldownMs: number;
}

/**
 * Limits per identity (the token's role and `sub`), across all its sockets on this hub, for the public roles: a cap on
 * open sockets, a command budget, and a cool-down after a refusal. All in memory, decided before a command reaches a
 * stream, so a flood from one attendee is refused without costing the Store (or the thread serving every socket) a
 * round trip. Staff, gates and the other trusted roles are not limited here (their sockets are few and known).
 * @example if (!limits.mayOpen(claims)) refuse(); … const refusal = limits.checkCommand(claims); if (refusal) reject(refusal);
 */
export class IdentityLimits {
  readonly #identities = new Map<string, Identity>();

  constructor(private readonly options: IdentityLimitOptions) {}

  /** False when the identity already holds its share of sockets (checked before the upgrade). */
  mayOpen(claims: Claims): boolean {
    if (!LIMITED.has(claims.role)) return true;
    return (this.#identities.get(identityKey(claims))?.sockets ?? 0) < this.options.maxSocketsPerIdentity;
  }

  /**
   * Counts an open socket; false (and nothing counted) when the identity is over its share. `admitted`: the cap
   * was already decided elsewhere (socket workers count at the upgrade, in shared memory), so only count.
   */
  opened(claims: Claims, admitted = false): boolean {
    if (!LIMITED.has(claims.role)) return true;
    const identity = this.#identity(claims);
    if (!admitted && identity.sockets >= this.options.maxSocketsPerIdentity) return false;
    identity.sockets++;
    return true;
  }

  closed(claims: Claims): void {
    if (!LIMITED.has(claims.role)) return;
    const key = identityKey(claims);
    const identity = this.#identities.get(key);
    if (!identity) return;
    // Kept a moment after its last socket, so reconnecting does not reset a cool-down or a spent budget.
    if (--identity.sockets <= 0 && identity.coolUntil <= performance.now()) this.#identities.delete(key);
  }

  /** Why the identity may not run a command now, or undefined when it may (and the command is counted). */
  checkCommand(claims: Claims, now = performance.now()): string | undefined {
    if (!LIMITED.has(claims.role)) return undefined;
    const identity = this.#identity(claims);
    if (identity.coolUntil > now) return `refused a moment ago: try again in ${Math.ceil(identity.coolUntil - now)} ms`;
    if (!identity.bucket.take(now)) {
      identity.coolUntil = now + this.options.refusedCooldownMs;
      return `more than ${this.options.identityCommandsPerSecond} commands per second from this identity`;
    }
    return undefined;
  }

  /** A stream refused a command of the identity as `rate_limited`: further ones are refused in memory for a while. */
  refused(claims: Claims, now = performance.now()): void {
    if (!LIMITED.has(claims.role)) return;
    this.#identity(claims).coolUntil = now + this.options.refusedCooldownMs;
  }

  #identity(claims: Claims): Identity {
    const key = identityKey(claims);
    let identity = this.#identities.get(key);
    if (!identity) {
      identity = { sockets: 0, bucket: new TokenBucket(this.options.identityCommandsPerSecond, this.options.identityCommandBurst), coolUntil: 0 };
      this.#identities.set(key, identity);
    }
    return identity;
  }
}

/** True for the roles whose identities are limited (socket workers count their sockets at the upgrade). */
export function isLimited(claims: Claims): boolean {
  return LIMITED.has(claims.role);
}

/** The key an identity is counted under (socket workers mirror the identities at their cap by it). */
export function identityKey(claims: Claims): string {
  return `${claims.role}\u0000${claims.sub}`;
}
