import { sql, type Kysely } from 'kysely';
import { ConsentRow, type Consent, type ConsentField, type Exhibitor, type ExhibitorBody, type ImportResult, type SponsorBody } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { ExhibitorRow } from '@opshub/schema/db-leads';
import type { ZodError } from 'zod';
import { NotFoundError } from '../errors.ts';

/** A sponsor with its sessions (exhibitors are listed separately: see {@link listExhibitors}). */
export interface SponsorRecord {
  id: string;
  name: string;
  sessions: string[];
}

/**
 * Creates or updates sponsors by id; `sessions` replaces the list.
 * @throws {NotFoundError} when the event does not exist
 * @example await upsertSponsors(db, 'expo', [{ id: 'acme', name: 'ACME', sessions: ['keynote'] }]);
 */
export async function upsertSponsors(db: Kysely<Database>, event: string, sponsors: readonly SponsorBody[]): Promise<SponsorRecord[]> {
  await requireEvent(db, event);
  if (sponsors.length === 0) return [];
  const rows = await db
    .insertInto('sponsors')
    .values(sponsors.map((s) => ({ event_id: event, id: s.id, name: s.name, sessions: [...new Set(s.sessions)] })))
    .onConflict((oc) =>
      oc.columns(['event_id', 'id']).doUpdateSet((eb) => ({ name: eb.ref('excluded.name'), sessions: eb.ref('excluded.sessions'), updated_at: sql<Date>`now()` })),
    )
    .returning(['id', 'name', 'sessions'])
    .execute();
  return rows.map(toSponsor).sort(byId);
}

/**
 * Creates or updates exhibitors by id. The booth must be a zone of the event and the sponsor, when given, a sponsor
 * of the event: both are checked here (for a clear message) and by foreign keys.
 * @throws {NotFoundError} for an unknown event, zone or sponsor
 * @example await upsertExhibitors(db, 'expo', [{ id: 'x1', name: 'Booth 1', zone: 'booth-1', sponsor: 'acme' }]);
 */
export async function upsertExhibitors(db: Kysely<Database>, event: string, exhibitors: readonly ExhibitorBody[]): Promise<Exhibitor[]> {
  await requireEvent(db, event);
  if (exhibitors.length === 0) return [];
  const zones = new Set((await db.selectFrom('zones').select('id').where('event_id', '=', event).execute()).map((z) => z.id));
  const sponsors = new Set((await db.selectFrom('sponsors').select('id').where('event_id', '=', event).execute()).map((s) => s.id));
  for (const x of exhibitors) {
    if (!zones.has(x.zone)) throw new NotFoundError('zone', x.zone, `exhibitor "${x.id}": zone "${x.zone}" is not a zone of event "${event}"`);
    if (x.sponsor !== null && !sponsors.has(x.sponsor)) throw new NotFoundError('sponsor', x.sponsor, `exhibitor "${x.id}": sponsor "${x.sponsor}" not found`);
  }
  const rows = await db
    .insertInto('exhibitors')
    .values(exhibitors.map((x) => ({ event_id: event, id: x.id, name: x.name, zone_id: x.zone, sponsor_id: x.sponsor })))
    .onConflict((oc) =>
      oc.columns(['event_id', 'id']).doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        zone_id: eb.ref('excluded.zone_id'),
        sponsor_id: eb.ref('excluded.sponsor_id'),
        updated_at: sql<Date>`now()`,
      })),
    )
    .returningAll()
    .execute();
  return rows.map(toExhibitor).sort(byId);
}

/** The event's sponsors, by id; `only` narrows to one. */
export async function listSponsors(db: Kysely<Database>, event: string, only?: string): Promise<SponsorRecord[]> {
  let query = db.selectFrom('sponsors').select(['id', 'name', 'sessions']).where('event_id', '=', event);
  if (only !== undefined) query = query.where('id', '=', only);
  return (await query.execute()).map(toSponsor).sort(byId);
}

/** One sponsor, or null. */
export async function getSponsor(db: Kysely<Database>, event: string, id: string): Promise<SponsorRecord | null> {
  return (await listSponsors(db, event, id))[0] ?? null;
}

/**
 * The event's exhibitors by id, narrowed to one sponsor's or to one exhibitor when asked.
 * @example const booths = await listExhibitors(db, 'expo', { sponsor: 'acme' });
 */
export async function listExhibitors(db: Kysely<Database>, event: string, filter: { sponsor?: string; id?: string } = {}): Promise<Exhibitor[]> {
  let query = db.selectFrom('exhibitors').selectAll().where('event_id', '=', event);
  if (filter.sponsor !== undefined) query = query.where('sponsor_id', '=', filter.sponsor);
  if (filter.id !== undefined) query = query.where('id', '=', filter.id);
  return (await query.execute()).map(toExhibitor).sort(byId);
}

/** One exhibitor, or null. */
export async function getExhibitor(db: Kysely<Database>, event: string, id: string): Promise<Exhibitor | null> {
  return (await listExhibitors(db, event, { id }))[0] ?? null;
}

/**
 * Is the exhibitor one of the sponsor's? The lookup behind the `linked` permission rule.
 * @example if (await exhibitorOfSponsor(db, 'expo', 'acme', 'x1')) allow();
 */
export async function exhibitorOfSponsor(db: Kysely<Database>, event: string, sponsor: string, exhibitor: string): Promise<boolean> {
  const row = await db
    .selectFrom('exhibitors')
    .select('id')
    .where('event_id', '=', event)
    .where('id', '=', exhibitor)
    .where('sponsor_id', '=', sponsor)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Sets which fields tickets consent to share, idempotent by code (`fields` replaces the list). A row is rejected, the
 * rest still stored, when it is invalid, names a code the roster does not have, or repeats a code of the same upload.
 * `row` in a rejection counts from 1.
 * @throws {NotFoundError} when the event does not exist
 * @example await setConsents(db, 'expo', [{ code: 'A1', fields: ['name', 'email'] }], 'ana');
 */
export async function setConsents(db: Kysely<Database>, event: string, rows: readonly unknown[], by: string): Promise<ImportResult> {
  await requireEvent(db, event);
  const rejected: ImportResult['rejected'] = [];
  const parsed = new Map<string, { fields: ConsentField[]; row: number }>();
  rows.forEach((input, index) => {
    const row = index + 1;
    const result = ConsentRow.safeParse(input);
    if (!result.success) return void rejected.push({ row, reason: describeIssues(result.error) });
    const earlier = parsed.get(result.data.code);
    if (earlier) return void rejected.push({ row, reason: `duplicate code "${result.data.code}" (first in row ${earlier.row})` });
    parsed.set(result.data.code, { fields: [...new Set(result.data.fields)].sort(), row });
  });
  const codes = [...parsed.keys()];
  const known = new Set<string>();
  for (let i = 0; i < codes.length; i += 1000) {
    const found = await db.selectFrom('tickets').select('code').where('event_id', '=', event).where('code', 'in', codes.slice(i, i + 1000)).execute();
    for (const t of found) known.add(t.code);
  }
  const accepted: { event_id: string; code: string; fields: string[]; updated_by: string }[] = [];
  for (const [code, { fields, row }] of parsed) {
    if (!known.has(code)) rejected.push({ row, reason: `no ticket "${code}" in the roster of event "${event}"` });
    else accepted.push({ event_id: event, code, fields, updated_by: by });
  }
  for (let i = 0; i < accepted.length; i += 500) {
    await db
      .insertInto('ticket_consents')
      .values(accepted.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['event_id', 'code']).doUpdateSet((eb) => ({ fields: eb.ref('excluded.fields'), updated_by: eb.ref('excluded.updated_by'), updated_at: sql<Date>`now()` })))
      .execute();
  }
  rejected.sort((a, b) => a.row - b.row);
  return { accepted: accepted.length, rejected };
}

/**
 * A page of consents in code order (byte order), after code `after`.
 * @example const { consents, next } = await listConsents(db, 'expo', { limit: 100 });
 */
export async function listConsents(db: Kysely<Database>, event: string, page: { after?: string; limit: number }): Promise<{ consents: Consent[]; next: string | null }> {
  let query = db.selectFrom('ticket_consents').select(['code', 'fields', 'updated_at']).where('event_id', '=', event);
  if (page.after !== undefined) query = query.where('code', '>', page.after);
  const rows = await query.orderBy('code').limit(page.limit + 1).execute();
  const consents = rows.slice(0, page.limit).map((r) => ({ code: r.code, fields: r.fields as ConsentField[], updatedAt: new Date(r.updated_at).getTime() }));
  return { consents, next: rows.length > page.limit ? consents[consents.length - 1]!.code : null };
}

async function requireEvent(db: Kysely<Database>, event: string): Promise<void> {
  const found = await db.selectFrom('events').select('id').where('id', '=', event).executeTakeFirst();
  if (!found) throw new NotFoundError('event', event);
}

function toSponsor(row: { id: string; name: string; sessions: string[] }): SponsorRecord {
  return { id: row.id, name: row.name, sessions: [...row.sessions].sort() };
}

function toExhibitor(row: ExhibitorRow): Exhibitor {
  return { id: row.id, name: row.name, zone: row.zone_id, sponsor: row.sponsor_id };
}

/** Sorted in JS: the database's collation (locale-aware on most PostgreSQL installs, "C" on PGlite) would differ. */
function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function describeIssues(error: ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
