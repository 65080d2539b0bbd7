import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';
import type { CreateEventBody, TicketType } from '@opshub/schema';
import { ConflictError } from '../errors.ts';
import { listTicketTypes, putTicketTypes } from './box-office-repo.ts';
import { inTransaction } from './in-transaction.ts';

/** An event with its zones and gates, shaped like the `POST /api/v1/events` body. */
export interface EventDetails {
  id: string;
  name: string;
  timezone: string;
  zones: { id: string; name: string; capacity: number }[];
  gates: { id: string; name: string; zone: string }[];
  /** what the box office sells, in the event's order (issue 15) */
  ticketTypes: TicketType[];
}

/**
 * Creates an event with its zones and gates, all or nothing. `body` is already validated by `CreateEventBody`
 * (which also checks that every gate names a zone of the event; the database's foreign key backs that up).
 *
 * @throws {ConflictError} when an event with this id exists
 * @example const event = await createEvent(db, CreateEventBody.parse(json));
 */
export async function createEvent(db: Kysely<Database>, body: Omit<CreateEventBody, 'ticketTypes'> & { ticketTypes?: TicketType[] }): Promise<EventDetails> {
  return inTransaction(db, async (trx) => {
    // `on conflict do nothing` rather than catching the unique violation: a failed statement would poison the
    // caller's transaction when we joined one.
    const inserted = await trx
      .insertInto('events')
      .values({ id: body.id, name: body.name, timezone: body.timezone })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) throw new ConflictError('event', body.id);
    if (body.zones.length > 0) {
      await trx
        .insertInto('zones')
        .values(body.zones.map((z) => ({ event_id: body.id, id: z.id, name: z.name, capacity: z.capacity })))
        .execute();
    }
    if (body.gates.length > 0) {
      await trx
        .insertInto('gates')
        .values(body.gates.map((g) => ({ event_id: body.id, id: g.id, name: g.name, zone_id: g.zone })))
        .execute();
    }
    const ticketTypes = body.ticketTypes ?? [];
    await putTicketTypes(trx, body.id, ticketTypes);
    return { id: body.id, name: body.name, timezone: body.timezone, zones: byId(body.zones), gates: byId(body.gates), ticketTypes };
  });
}

/**
 * The event with its zones and gates (each sorted by id, by code point), or null.
 * @example const event = await getEvent(db, 'expo-2026'); // { id, name, timezone, zones: [...], gates: [...] }
 */
export async function getEvent(db: Kysely<Database>, id: string): Promise<EventDetails | null> {
  const event = await db.selectFrom('events').select(['id', 'name', 'timezone']).where('id', '=', id).executeTakeFirst();
  if (!event) return null;
  const zones = await db.selectFrom('zones').select(['id', 'name', 'capacity']).where('event_id', '=', id).execute();
  const gates = await db.selectFrom('gates').select(['id', 'name', 'zone_id as zone']).where('event_id', '=', id).execute();
  const ticketTypes = await listTicketTypes(db, id);
  return { ...event, zones: byId(zones), gates: byId(gates), ticketTypes };
}

/** Sorted in JS: the database's collation (locale-aware on most PostgreSQL installs, "C" on PGlite) would differ. */
function byId<T extends { id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Whether the event exists; one key lookup (the engagement tables reference events, and a missing event should be
 * `not_found`, not a foreign-key failure).
 * @example if (!(await eventExists(db, 'expo'))) throw new NotFoundError('event', 'expo');
 */
export async function eventExists(db: Kysely<Database>, event: string): Promise<boolean> {
  return (await db.selectFrom('events').select('id').where('id', '=', event).executeTakeFirst()) !== undefined;
}
