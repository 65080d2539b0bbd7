import type { Claims } from '@opshub/schema';
import type { RevocationEntry } from './worker-protocol.ts';

/**
 * A socket worker's copy of the hub's revocation list, fed by the main thread, with the same rule as
 * auth/revocation-list.ts `covers`: the jti is listed, or the subject is, at or after the token's `iat`.
 * The main thread checks the real list again when the socket opens, so a revocation still on its way is caught there.
 */
export class RevocationMirror {
  readonly #byJti = new Map<string, number>();
  readonly #bySub = new Map<string, number>();

  add(entry: RevocationEntry): void {
    const map = entry.kind === 'jti' ? this.#byJti : this.#bySub;
    if ((map.get(entry.value) ?? -Infinity) < entry.revokedAt) map.set(entry.value, entry.revokedAt);
  }

  covers(claims: Pick<Claims, 'sub' | 'jti' | 'iat'>): boolean {
    if (claims.jti !== undefined && this.#byJti.has(claims.jti)) return true;
    const subAt = this.#bySub.get(claims.sub);
    return subAt !== undefined && (claims.iat === undefined || claims.iat * 1000 <= subAt);
  }
}
