import { sql, type Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

/**
 * Namespaces of the transaction-scoped advisory locks the engagement streams take (the first `int` of
 * `pg_advisory_xact_lock(int, int)`; the second is `hashtext` of the locked thing). A hash collision only makes two
 * unrelated polls or sessions take turns; it never lets two holders in at once.
 */
export const lockSpace = Object.freeze({
  /** publishing a poll's live results: hubs take turns, so results reach the topic in the order they were read */
  pollResults: 0x6f700002,
  /** publishing a session's upvote counts, for the same reason */
  qaUpvotes: 0x6f700003,
  /** pinning in a session: one pinned question per session without a unique-violation race */
  qaPin: 0x6f700004,
  /** an event's box-office writes: the revenue ledger, and the totals each revenue message carries, in one order */
  revenue: 0x6f700005,
  /** publishing a push's delivery figures: hubs take turns, so the counts on `event/{e}/push` never go backwards */
  pushFigures: 0x6f700016,
  /** publishing how many screens showed an announcement: hubs take turns, so the counts never go backwards */
  announcementViews: 0x6f700024,
  /**
   * appending to or compacting a Yjs doc's update log: one writer per doc at a time, so row ids become visible in id
   * order (a pull that saw id n never misses a smaller id committed later) and hub writes build on the stored state
   */
  yjsDoc: 0x6f700015,
});

/**
 * Takes a transaction-scoped advisory lock, waiting for it; it is released when the transaction ends. Statements run
 * after it see everything the previous holder committed (read committed takes a fresh snapshot per statement).
 * @example await db.transaction().execute(async (trx) => { await advisoryXactLock(trx, lockSpace.pollResults, 'expo/p1', 'exclusive'); ... });
 */
export async function advisoryXactLock(trx: Kysely<Database>, space: number, key: string, mode: 'shared' | 'exclusive'): Promise<void> {
  if (!trx.isTransaction) throw new Error('advisoryXactLock needs a transaction: the lock lives until it ends');
  const query =
    mode === 'shared'
      ? sql`select pg_advisory_xact_lock_shared(${space}::int, hashtext(${key}))`
      : sql`select pg_advisory_xact_lock(${space}::int, hashtext(${key}))`;
  await query.execute(trx);
}
