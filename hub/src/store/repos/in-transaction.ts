import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

/**
 * Runs `fn` in a transaction: the caller's, when `db` already is one, so a write and its audit row commit together;
 * otherwise a new one.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   await createEvent(trx, body);            // joins trx instead of opening its own
 *   await appendAudit(trx, { ... });
 * });
 */
export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
