import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

export type RevocationKind = 'jti' | 'sub';

/** One entry of the token revocation list. */
export interface Revocation {
  kind: RevocationKind;
  value: string;
  /** ms since the epoch: a `sub` revocation ends the subject's tokens issued up to this moment */
  revokedAt: number;
  revokedBy: string;
  reason: string;
}

/**
 * Puts a token (`jti`) or a subject (`sub`) on the revocation list. Revoking a subject again moves its moment forward,
 * so tokens minted since the last revocation end too.
 * @example await revokeToken(db, { kind: 'sub', value: 'ana', revokedBy: 'admin', reason: 'left the team' });
 */
export async function revokeToken(db: Kysely<Database>, input: Omit<Revocation, 'revokedAt'>): Promise<Revocation> {
  const row = await db
    .insertInto('token_revocations')
    .values({ kind: input.kind, value: input.value, revoked_by: input.revokedBy, reason: input.reason })
    .onConflict((oc) => oc.columns(['kind', 'value']).doUpdateSet({ revoked_at: new Date(), revoked_by: input.revokedBy, reason: input.reason }))
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRevocation(row);
}

/** The whole list (it holds ended sessions, not every token: small). */
export async function listRevocations(db: Kysely<Database>): Promise<Revocation[]> {
  const rows = await db.selectFrom('token_revocations').selectAll().orderBy('revoked_at', 'desc').execute();
  return rows.map(toRevocation);
}

function toRevocation(row: { kind: string; value: string; revoked_at: Date | string; revoked_by: string; reason: string }): Revocation {
  return { kind: row.kind as RevocationKind, value: row.value, revokedAt: new Date(row.revoked_at).getTime(), revokedBy: row.revoked_by, reason: row.reason };
}
