import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

/**
 * The idempotency keys of `lead.capture` (`clientId`): one row per key a booth sent, written in the capture's own
 * transaction (see `schema/src/migrations/0018-sessions.ts`).
 */

/**
 * Claims a capture's key. `claimed` is true when this capture is the first with the key; otherwise `ticket` is the
 * ticket the first one captured. A concurrent first capture on another hub holds the key's row until it commits, so
 * this waits for it and then sees it: across hubs too, one key is one capture.
 * @example const { claimed } = await claimCaptureKey(trx, { event: 'expo', exhibitor: 'x1', clientId, ticket: 'A1' });
 */
export async function claimCaptureKey(
  db: Kysely<Database>,
  key: { event: string; exhibitor: string; clientId: string; ticket: string },
): Promise<{ claimed: true } | { claimed: false; ticket: string }> {
  const inserted = await db
    .insertInto('lead_captures')
    .values({ event_id: key.event, exhibitor_id: key.exhibitor, client_id: key.clientId, ticket_code: key.ticket })
    .onConflict((oc) => oc.columns(['event_id', 'exhibitor_id', 'client_id']).doNothing())
    .returning('client_id')
    .executeTakeFirst();
  if (inserted) return { claimed: true };
  const first = await db
    .selectFrom('lead_captures')
    .select('ticket_code')
    .where('event_id', '=', key.event)
    .where('exhibitor_id', '=', key.exhibitor)
    .where('client_id', '=', key.clientId)
    .executeTakeFirstOrThrow();
  return { claimed: false, ticket: first.ticket_code };
}
