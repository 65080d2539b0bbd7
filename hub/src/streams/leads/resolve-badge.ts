import type { Kysely } from 'kysely';
import { InvalidTicketTokenError, looksLikeTicketToken, verifyTicketToken } from '@opshub/replica';
import type { Database } from '@opshub/schema/db';
import { NotFoundError } from '../../store/errors.ts';
import { eventKeys } from '../../store/repos/event-keys-repo.ts';
import { getTicket } from '../../store/repos/tickets-repo.ts';

/**
 * The ticket code behind a scanned badge: a roster code as is, or the `code` of a signed ticket token that verifies
 * against the event's key (a ticket sold at the door after the roster import is a real attendee too).
 * @throws {NotFoundError} when the code is neither in the roster nor a valid ticket token of this event
 * @example const code = await resolveBadge(db, 'expo', scanned);
 */
export async function resolveBadge(db: Kysely<Database>, event: string, scanned: string): Promise<string> {
  if (await getTicket(db, event, scanned)) return scanned;
  if (looksLikeTicketToken(scanned)) {
    try {
      const { publicJwk } = await eventKeys(db, event);
      return (await verifyTicketToken(scanned, publicJwk, { event })).code;
    } catch (error) {
      if (!(error instanceof InvalidTicketTokenError)) throw error;
    }
  }
  // The badge itself is not echoed: it may be a long token, and a typo'd code tells the scanner nothing new.
  throw new NotFoundError('ticket', '', `no ticket of event "${event}" matches the scanned badge`);
}
