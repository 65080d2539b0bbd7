import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';
import { sql } from 'kysely';
import type { CreateEventBody, PatchEventBody, TicketType } from '@opshub/schema';
import { ConflictError, NotFoundError } from '../errors.ts';
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
      // A zone's door policy at capacity (issue 12) is a directive, kept with the others.
      const policies = body.zones.filter((z) => z.enforce !== undefined && z.enforce !== 'off');
      if (policies.length > 0) {
        await trx
          .insertInto('zone_directives')
          .values(policies.map((z) => ({ event_id: body.id, zone_id: z.id, enforce: z.enforce, updated_by: 'event.create' })))
          .execute();
      }
    }
    if (body.gates.length > 0) {
      await trx
        .insertInto('gates')
        .values(body.gates.map((g) => ({ event_id: body.id, id: g.id, name: g.name, zone_id: g.zone })))
        .execute();
    }
    const ticketTypes = body.ticketTypes ?? [];
    await putTicketTypes(trx, body.id, ticketTypes);
    return { id: body.id, name: body.name, timezone: body.timezone, zones: byId(body.zones.map(({ id, name, capacity }) => ({ id, name, capacity }))), gates: byId(body.gates), ticketTypes };
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

/** One line of the event list: enough for the start page without loading every event's zones and gates. */
export interface EventSummary {
  id: string;
  name: string;
  timezone: string;
  zones: number;
  gates: number;
  tickets: number;
}

/**
 * The events with these ids (every event for `'*'`), sorted by id, with their zone, gate and ticket counts.
 * @example const visible = await listEvents(db, claims.events.includes('*') ? '*' : claims.events);
 */
export async function listEvents(db: Kysely<Database>, ids: readonly string[] | '*'): Promise<EventSummary[]> {
  if (ids !== '*' && ids.length === 0) return [];
  let query = db
    .selectFrom('events as e')
    .select([
      'e.id',
      'e.name',
      'e.timezone',
      (eb) => eb.selectFrom('zones').select(eb.fn.countAll<string>().as('n')).whereRef('zones.event_id', '=', 'e.id').as('zones'),
      (eb) => eb.selectFrom('gates').select(eb.fn.countAll<string>().as('n')).whereRef('gates.event_id', '=', 'e.id').as('gates'),
      (eb) => eb.selectFrom('tickets').select(eb.fn.countAll<string>().as('n')).whereRef('tickets.event_id', '=', 'e.id').as('tickets'),
    ]);
  if (ids !== '*') query = query.where('e.id', 'in', [...ids]);
  const rows = await query.execute();
  return byId(rows.map((r) => ({ id: r.id, name: r.name, timezone: r.timezone, zones: Number(r.zones ?? 0), gates: Number(r.gates ?? 0), tickets: Number(r.tickets ?? 0) })));
}

/** A change to an event that would lose what depends on it: the message says what and how much. */
export class InUseError extends ConflictError {
  constructor(kind: 'zone' | 'gate', id: string, reasons: readonly string[]) {
    super(kind, id, `${kind} "${id}" cannot be removed: ${reasons.join(', ')}`);
  }
}

/**
 * Applies a `PATCH /api/v1/events/{e}` in the caller's transaction (or its own), all or nothing: name and time zone;
 * zones and gates as whole lists (new ids added, known ones updated, missing ones removed). A zone or gate is not
 * removed while scans name it (the check-in history would point at nothing), nor a zone that is a booth or that
 * tickets are limited to; the error says which and how many. Returns the event before and after.
 * @throws {NotFoundError} for an unknown event; {@link InUseError} for a refused removal; ConflictError when a gate
 * names a zone the new list lacks
 */
export async function updateEvent(db: Kysely<Database>, id: string, patch: PatchEventBody): Promise<{ before: EventDetails; after: EventDetails }> {
  return inTransaction(db, async (trx) => {
    // One editor at a time per event: the row lock serialises concurrent PATCHes (and their removal checks).
    const locked = await trx.selectFrom('events').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
    if (!locked) throw new NotFoundError('event', id);
    const before = (await getEvent(trx, id))!;
    const zones = patch.zones ?? before.zones;
    const gates = patch.gates ?? before.gates;
    const zoneIds = new Set(zones.map((z) => z.id));
    for (const gate of gates) {
      if (!zoneIds.has(gate.zone)) throw new ConflictError('gate', gate.id, `gate "${gate.id}" opens into zone "${gate.zone}", which the event's zones do not include`);
    }
    const removedGates = before.gates.filter((g) => !gates.some((n) => n.id === g.id)).map((g) => g.id);
    const removedZones = before.zones.filter((z) => !zoneIds.has(z.id)).map((z) => z.id);
    for (const gate of removedGates) {
      const scans = await countWhere(trx, sql`select count(*) as n from checkins where event_id = ${id} and gate_id = ${gate}`);
      if (scans > 0) throw new InUseError('gate', gate, [`${scans} ${plural(scans, 'scan')} at this gate`]);
    }
    for (const zone of removedZones) {
      const reasons: string[] = [];
      const scans = await countWhere(trx, sql`select count(*) as n from checkins where event_id = ${id} and zone_id = ${zone}`);
      if (scans > 0) reasons.push(`${scans} ${plural(scans, 'scan')} into this zone`);
      const booths = await countWhere(trx, sql`select count(*) as n from exhibitors where event_id = ${id} and zone_id = ${zone}`);
      if (booths > 0) reasons.push(`${booths} exhibitor ${plural(booths, 'booth')} in it`);
      const tickets = await countWhere(trx, sql`select count(*) as n from tickets where event_id = ${id} and ${zone} = any(zones)`);
      if (tickets > 0) reasons.push(`${tickets} ${plural(tickets, 'ticket')} limited to it`);
      if (reasons.length > 0) throw new InUseError('zone', zone, reasons);
    }

    if (patch.name !== undefined || patch.timezone !== undefined) {
      await trx
        .updateTable('events')
        .set({ ...(patch.name !== undefined ? { name: patch.name } : {}), ...(patch.timezone !== undefined ? { timezone: patch.timezone } : {}) })
        .where('id', '=', id)
        .execute();
    }
    // Gates first (they reference zones), then zones, then the new gates.
    if (removedGates.length > 0) await trx.deleteFrom('gates').where('event_id', '=', id).where('id', 'in', removedGates).execute();
    if (patch.zones) {
      for (const zone of patch.zones) {
        await trx
          .insertInto('zones')
          .values({ event_id: id, id: zone.id, name: zone.name, capacity: zone.capacity })
          .onConflict((oc) => oc.columns(['event_id', 'id']).doUpdateSet({ name: zone.name, capacity: zone.capacity }))
          .execute();
      }
    }
    if (patch.gates) {
      for (const gate of patch.gates) {
        await trx
          .insertInto('gates')
          .values({ event_id: id, id: gate.id, name: gate.name, zone_id: gate.zone })
          .onConflict((oc) => oc.columns(['event_id', 'id']).doUpdateSet({ name: gate.name, zone_id: gate.zone }))
          .execute();
      }
    }
    if (removedZones.length > 0) await trx.deleteFrom('zones').where('event_id', '=', id).where('id', 'in', removedZones).execute();
    return { before, after: (await getEvent(trx, id))! };
  });
}

async function countWhere(db: Kysely<Database>, query: ReturnType<typeof sql<{ n: string | number }>>): Promise<number> {
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n ?? 0);
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
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
