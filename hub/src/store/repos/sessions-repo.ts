import { sql, type Kysely } from 'kysely';
import type { PatchSessionBody, Session, SessionBody } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { SessionRow } from '@opshub/schema/db-sessions';
import { ClientError } from '../../errors.ts';
import { NotFoundError } from '../errors.ts';

/**
 * Sessions in the Store (`schema/src/migrations/0018-sessions.ts`): a room (zone) at a time, created or replaced by
 * id, listed in start order, patched field by field. Rooms, overflow rooms and sponsors are checked against the
 * event here, in the writing transaction.
 */

/**
 * Creates sessions, or replaces the ones whose id exists (what a schedule import wants: send the whole agenda again).
 * @throws {ClientError} `invalid` naming the first session whose room, overflow room or sponsor the event lacks
 * @returns the sessions as stored, with what each replaced (null for a new one), for the audit log
 * @example await upsertSessions(trx, 'expo', [SessionBody.parse({ id: 'keynote', title: 'Keynote', zone: 'hall', startsAt: '2026-06-01T09:00:00Z', endsAt: '2026-06-01T10:00:00Z' })]);
 */
export async function upsertSessions(db: Kysely<Database>, event: string, bodies: readonly SessionBody[]): Promise<{ session: Session; before: Session | null }[]> {
  const ids = bodies.map((b) => b.id);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated !== undefined) throw new ClientError('invalid', `session "${repeated}" appears twice in the request`);
  await checkReferences(db, event, bodies);
  const before = new Map((await db.selectFrom('sessions').selectAll().where('event_id', '=', event).where('id', 'in', ids).forUpdate().execute()).map((r) => [r.id, toSession(r)]));
  const rows = await db
    .insertInto('sessions')
    .values(bodies.map((b) => ({ event_id: event, id: b.id, ...columnsOf(b) })))
    .onConflict((oc) =>
      oc.columns(['event_id', 'id']).doUpdateSet((eb) => ({
        title: eb.ref('excluded.title'),
        zone_id: eb.ref('excluded.zone_id'),
        starts_at: eb.ref('excluded.starts_at'),
        ends_at: eb.ref('excluded.ends_at'),
        capacity: eb.ref('excluded.capacity'),
        overflow_zone_id: eb.ref('excluded.overflow_zone_id'),
        sponsor_id: eb.ref('excluded.sponsor_id'),
        updated_at: sql<Date>`now()`,
      })),
    )
    .returningAll()
    .execute();
  const byId = new Map(rows.map((r) => [r.id, toSession(r)]));
  return bodies.map((b) => ({ session: byId.get(b.id)!, before: before.get(b.id) ?? null }));
}

/**
 * Changes the fields given; `null` clears capacity, overflow or sponsor.
 * @throws {NotFoundError} when the event has no such session
 * @throws {ClientError} `invalid` when the result names a room, overflow or sponsor the event lacks, or ends before it starts
 * @example await patchSession(trx, 'expo', 'keynote', { capacity: 350 });
 */
export async function patchSession(db: Kysely<Database>, event: string, id: string, patch: PatchSessionBody): Promise<{ session: Session; before: Session }> {
  const row = await db.selectFrom('sessions').selectAll().where('event_id', '=', event).where('id', '=', id).forUpdate().executeTakeFirst();
  if (!row) throw new NotFoundError('session', id);
  const before = toSession(row);
  const merged: SessionBody = {
    id,
    title: patch.title ?? before.title,
    zone: patch.zone ?? before.zone,
    startsAt: patch.startsAt ?? row.starts_at.getTime(),
    endsAt: patch.endsAt ?? row.ends_at.getTime(),
    capacity: patch.capacity === undefined ? before.capacity : patch.capacity,
    overflow: patch.overflow === undefined ? before.overflow : patch.overflow,
    sponsor: patch.sponsor === undefined ? before.sponsor : patch.sponsor,
  };
  if (merged.endsAt <= merged.startsAt) throw new ClientError('invalid', 'endsAt: must be after startsAt');
  if (merged.overflow !== null && merged.overflow === merged.zone) throw new ClientError('invalid', 'overflow: the overflow room must be another zone than the session\'s room');
  await checkReferences(db, event, [merged]);
  const updated = await db
    .updateTable('sessions')
    .set({ ...columnsOf(merged), updated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { session: toSession(updated), before };
}

/** The event's sessions in start order (then id). */
export async function listSessions(db: Kysely<Database>, event: string): Promise<Session[]> {
  const rows = await db.selectFrom('sessions').selectAll().where('event_id', '=', event).orderBy('starts_at').orderBy('id').execute();
  return rows.map(toSession);
}

/** One session, or null. */
export async function getSession(db: Kysely<Database>, event: string, id: string): Promise<Session | null> {
  const row = await db.selectFrom('sessions').selectAll().where('event_id', '=', event).where('id', '=', id).executeTakeFirst();
  return row ? toSession(row) : null;
}

/** The sessions a sponsor sponsors by the session's own `sponsor` field. */
export async function sessionsOfSponsor(db: Kysely<Database>, event: string, sponsor: string): Promise<string[]> {
  const rows = await db.selectFrom('sessions').select('id').where('event_id', '=', event).where('sponsor_id', '=', sponsor).orderBy('id').execute();
  return rows.map((r) => r.id);
}

async function checkReferences(db: Kysely<Database>, event: string, sessions: readonly Pick<SessionBody, 'id' | 'zone' | 'overflow' | 'sponsor'>[]): Promise<void> {
  const [zones, sponsors] = await Promise.all([
    db.selectFrom('zones').select('id').where('event_id', '=', event).execute(),
    db.selectFrom('sponsors').select('id').where('event_id', '=', event).execute(),
  ]);
  const zoneIds = new Set(zones.map((z) => z.id));
  const sponsorIds = new Set(sponsors.map((s) => s.id));
  for (const s of sessions) {
    if (!zoneIds.has(s.zone)) throw new ClientError('invalid', `session "${s.id}": zone "${s.zone}" is not a zone of the event`);
    if (s.overflow !== null && !zoneIds.has(s.overflow)) throw new ClientError('invalid', `session "${s.id}": overflow "${s.overflow}" is not a zone of the event`);
    if (s.sponsor !== null && !sponsorIds.has(s.sponsor)) throw new ClientError('invalid', `session "${s.id}": sponsor "${s.sponsor}" is not a sponsor of the event`);
  }
}

function columnsOf(b: Omit<SessionBody, 'id'>) {
  return {
    title: b.title,
    zone_id: b.zone,
    starts_at: new Date(b.startsAt),
    ends_at: new Date(b.endsAt),
    capacity: b.capacity,
    overflow_zone_id: b.overflow,
    sponsor_id: b.sponsor,
  };
}

export function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    title: row.title,
    zone: row.zone_id,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    capacity: row.capacity,
    overflow: row.overflow_zone_id,
    sponsor: row.sponsor_id,
  };
}
