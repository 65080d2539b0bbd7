import type { Claims } from '@opshub/schema';
import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../log.ts';
import { listRevocations, revokeToken, type Revocation } from '../store/repos/revocations-repo.ts';
import type { Store } from '../store/store.ts';
import { AuthError, type TokenVerifier } from './token-verifier.ts';

const CHANNEL = 'auth/revocations';

/**
 * The token revocation list as every hub holds it in memory, so a token is checked without I/O (WebSocket upgrades
 * decide synchronously). A revocation is written to the Store, then signalled on the bus: every hub adds it and ends
 * the sockets it covers at once. Every `pollMs` each hub also reloads the list from the Store, the net under the bus
 * (a hub that missed the signal, or a revocation written by another path, such as unpairing a gate laptop).
 * @example if (revocations.covers(claims)) throw new AuthError('token revoked');
 */
export class RevocationList {
  readonly #byJti = new Map<string, number>();
  readonly #bySub = new Map<string, number>();
  readonly #listeners = new Set<(revocation: Revocation) => void>();
  #poll: NodeJS.Timeout | undefined;
  readonly #onSignal = (payload: Uint8Array) => {
    try {
      this.#add(JSON.parse(Buffer.from(payload).toString('utf8')) as Revocation);
    } catch (err) {
      this.deps.log.warn({ err }, 'ignored a malformed revocation signal');
    }
  };

  constructor(
    private readonly deps: { store: Store; bus: Bus; log: Logger },
    private readonly options = { pollMs: 5000 },
  ) {}

  /** The Store the list lives in (for listing it). */
  get db(): Store['db'] {
    return this.deps.store.db;
  }

  async start(): Promise<void> {
    await this.#reload();
    await this.deps.bus.onSignal(CHANNEL, this.#onSignal);
    this.#poll = setInterval(() => void this.#reload().catch((err: unknown) => this.deps.log.warn({ err }, 'revocation list reload failed')), this.options.pollMs);
    this.#poll.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#poll);
    await this.deps.bus.offSignal(CHANNEL, this.#onSignal).catch(() => {});
  }

  /**
   * True when the token is revoked: its `jti` is listed, or its subject is listed with a moment at or after the
   * token's `iat` (a token without `iat` is covered by any revocation of its subject).
   */
  covers(claims: Pick<Claims, 'sub' | 'jti' | 'iat'>): boolean {
    if (claims.jti !== undefined && this.#byJti.has(claims.jti)) return true;
    const subAt = this.#bySub.get(claims.sub);
    return subAt !== undefined && (claims.iat === undefined || claims.iat * 1000 <= subAt);
  }

  /** Every revocation held, as socket workers mirror them (workers/revocation-mirror.ts). */
  entries(): { kind: 'jti' | 'sub'; value: string; revokedAt: number }[] {
    return [
      ...[...this.#byJti].map(([value, revokedAt]) => ({ kind: 'jti' as const, value, revokedAt })),
      ...[...this.#bySub].map(([value, revokedAt]) => ({ kind: 'sub' as const, value, revokedAt })),
    ];
  }

  /** Called with every revocation this hub learns of (its own, another hub's, or found by the poll). */
  onRevoked(listener: (revocation: Revocation) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records a revocation, applies it here and tells the other hubs. */
  async revoke(input: Omit<Revocation, 'revokedAt'>): Promise<Revocation> {
    const revocation = await revokeToken(this.deps.store.db, input);
    this.#add(revocation);
    await this.deps.bus.signal(CHANNEL, Buffer.from(JSON.stringify(revocation))).catch((err: unknown) => {
      // The other hubs find it by their poll within seconds.
      this.deps.log.warn({ err }, 'revocation signal failed');
    });
    return revocation;
  }

  async #reload(): Promise<void> {
    for (const revocation of await listRevocations(this.deps.store.db)) this.#add(revocation);
  }

  #add(revocation: Revocation): void {
    const map = revocation.kind === 'jti' ? this.#byJti : this.#bySub;
    const known = map.get(revocation.value);
    if (known !== undefined && known >= revocation.revokedAt) return;
    map.set(revocation.value, revocation.revokedAt);
    for (const listener of this.#listeners) listener(revocation);
  }
}

/**
 * The verifier every route and upgrade uses: the given one, then the revocation list (in memory, so `verifyNow`
 * stays synchronous).
 * @example const verifier = revocationChecked(hs256Verifier(secret), revocations);
 */
export function revocationChecked<V extends TokenVerifier>(verifier: V, list: RevocationList): V {
  const check = (claims: Claims): Claims => {
    if (list.covers(claims)) throw new AuthError('token revoked');
    return claims;
  };
  return {
    ...verifier,
    verify: async (token: string) => check(await verifier.verify(token)),
    verifyNow: (token: string) => {
      const claims = verifier.verifyNow(token);
      return claims === undefined ? undefined : check(claims);
    },
  };
}
