import { sql, type Kysely } from 'kysely';
import { ConsentField, type Lead, type LeadAttendee } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import { timeOrderedId } from '../ids/time-ordered-id.ts';

export interface CaptureInput {
  event: string;
  exhibitor: string;
  /** the resolved ticket code (never served) */
  ticket: string;
  capturedBy: string;
  rating?: number | undefined;
  notes?: string | undefined;
  tags?: string[] | undefined;
  scanId?: string | undefined;
}

export type CaptureOutcome =
  /** a first scan (`created`) or a rescan that counted a visit */
  | { kind: 'created' | 'rescanned'; lead: Lead }
  /** a retry of the scan that was applied last (same `scanId`): nothing changed */
  | { kind: 'repeated'; lead: Lead };

/**
 * Records a badge scan at a booth in one statement: the first scan of a ticket by an exhibitor inserts the lead, any
 * later one (on any hub) lands on the same primary key and counts a visit, applying the rating, notes and tags given.
 * A retry carrying the `scanId` that was applied last changes nothing.
 * @example const { kind, lead } = await captureLead(db, { event: 'expo', exhibitor: 'x1', ticket: 'A1', capturedBy: 'ana', rating: 4 });
 */
export async function captureLead(db: Kysely<Database>, input: CaptureInput): Promise<CaptureOutcome> {
  const row = await db
    .insertInto('leads')
    .values({
      event_id: input.event,
      exhibitor_id: input.exhibitor,
      // time-ordered: leads captured in the same millisecond still page and export in the order they were captured
      id: timeOrderedId(),
      ticket_code: input.ticket,
      rating: input.rating ?? null,
      notes: input.notes ?? '',
      tags: input.tags ?? [],
      captured_by: input.capturedBy,
      last_scan_id: input.scanId ?? null,
    })
    .onConflict((oc) =>
      oc
        .columns(['event_id', 'exhibitor_id', 'ticket_code'])
        .doUpdateSet((eb) => ({
          visits: sql<number>`leads.visits + 1`,
          rating: input.rating === undefined ? eb.ref('leads.rating') : eb.ref('excluded.rating'),
          notes: input.notes === undefined ? eb.ref('leads.notes') : eb.ref('excluded.notes'),
          tags: input.tags === undefined ? eb.ref('leads.tags') : eb.ref('excluded.tags'),
          last_scan_id: eb.ref('excluded.last_scan_id'),
          last_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        }))
        // a retried scan (the id applied last) is not a visit
        .where(sql<boolean>`excluded.last_scan_id is null or leads.last_scan_id is distinct from excluded.last_scan_id`),
    )
    // xmax is 0 for a row this statement inserted, and the updating transaction's id for one it updated
    .returning(['id', sql<boolean>`(xmax = 0)`.as('inserted')])
    .executeTakeFirst();
  if (row) return { kind: row.inserted ? 'created' : 'rescanned', lead: (await leadByTicket(db, input.event, input.exhibitor, input.ticket))! };
  return { kind: 'repeated', lead: (await leadByTicket(db, input.event, input.exhibitor, input.ticket))! };
}

/**
 * Changes a lead's rating (null clears it), notes or tags; returns the lead as it now stands, or null when the
 * exhibitor has no such lead.
 * @example await updateLead(db, 'expo', 'x1', leadId, { rating: 5 });
 */
export async function updateLead(
  db: Kysely<Database>,
  event: string,
  exhibitor: string,
  id: string,
  change: { rating?: number | null | undefined; notes?: string | undefined; tags?: string[] | undefined },
): Promise<Lead | null> {
  const updated = await db
    .updateTable('leads')
    .set({
      ...(change.rating !== undefined && { rating: change.rating }),
      ...(change.notes !== undefined && { notes: change.notes }),
      ...(change.tags !== undefined && { tags: change.tags }),
      updated_at: sql<Date>`now()`,
    })
    .where('event_id', '=', event)
    .where('exhibitor_id', '=', exhibitor)
    .where('id', '=', id)
    .returning('id')
    .executeTakeFirst();
  if (!updated) return null;
  return (await leadPage(db, event, exhibitor, { id, limit: 1 }))[0] ?? null;
}

/** The lead of one ticket at one booth, as the exhibitor may see it. */
export async function leadByTicket(db: Kysely<Database>, event: string, exhibitor: string, ticket: string): Promise<Lead | null> {
  return (await leadPage(db, event, exhibitor, { ticket, limit: 1 }))[0] ?? null;
}

/** Where a page of leads starts: after this lead in capture order. */
export interface LeadCursor {
  firstAt: number;
  id: string;
}

/**
 * A page of a booth's leads in capture order (first scan, then id), after `after`. The attendee carries only what the
 * ticket consents to share now, so a withdrawn consent also stops sharing in later pages and exports.
 * @example
 * let page = await leadPage(db, 'expo', 'x1', { limit: 500 });
 * while (page.length === 500) page = await leadPage(db, 'expo', 'x1', { limit: 500, after: cursorOf(page.at(-1)!) });
 */
export async function leadPage(
  db: Kysely<Database>,
  event: string,
  exhibitor: string,
  options: { limit: number; after?: LeadCursor | undefined; id?: string; ticket?: string },
): Promise<Lead[]> {
  let query = db
    .selectFrom('leads as l')
    .leftJoin('tickets as t', (join) => join.onRef('t.event_id', '=', 'l.event_id').onRef('t.code', '=', 'l.ticket_code'))
    .leftJoin('ticket_consents as c', (join) => join.onRef('c.event_id', '=', 'l.event_id').onRef('c.code', '=', 'l.ticket_code'))
    .select([
      'l.id',
      'l.exhibitor_id',
      'l.rating',
      'l.notes',
      'l.tags',
      'l.visits',
      'l.captured_by',
      'l.first_at',
      'l.last_at',
      'l.updated_at',
      't.holder',
      't.email',
      't.type',
      'c.fields',
    ])
    .where('l.event_id', '=', event)
    .where('l.exhibitor_id', '=', exhibitor);
  if (options.id !== undefined) query = query.where('l.id', '=', options.id);
  if (options.ticket !== undefined) query = query.where('l.ticket_code', '=', options.ticket);
  if (options.after) {
    const after = options.after;
    query = query.where((eb) => eb.or([eb('l.first_at', '>', new Date(after.firstAt)), eb.and([eb('l.first_at', '=', new Date(after.firstAt)), eb('l.id', '>', after.id)])]));
  }
  const rows = await query.orderBy('l.first_at').orderBy('l.id').limit(options.limit).execute();
  return rows.map((r) => {
    const shared = ConsentField.options.filter((f) => (r.fields ?? []).includes(f));
    const attendee: LeadAttendee = {};
    if (shared.includes('name') && r.holder !== null) attendee.name = r.holder;
    if (shared.includes('email') && r.email !== null) attendee.email = r.email;
    if (shared.includes('type') && r.type !== null) attendee.type = r.type;
    return {
      id: r.id,
      exhibitor: r.exhibitor_id,
      attendee,
      shared,
      rating: r.rating,
      notes: r.notes,
      tags: r.tags,
      visits: r.visits,
      capturedBy: r.captured_by,
      firstAt: new Date(r.first_at).getTime(),
      lastAt: new Date(r.last_at).getTime(),
      updatedAt: new Date(r.updated_at).getTime(),
    };
  });
}

/** The cursor that continues after `lead`. */
export function cursorOf(lead: Pick<Lead, 'firstAt' | 'id'>): LeadCursor {
  return { firstAt: lead.firstAt, id: lead.id };
}

export interface LeadTally {
  leads: number;
  rated: number;
  ratingSum: number;
}

/**
 * Leads, rated leads and the sum of ratings per exhibitor of the event (exhibitors without leads are absent).
 * @example const tally = await leadTallies(db, 'expo', ['x1', 'x2']); // Map { 'x1' => { leads: 12, rated: 9, ratingSum: 31 } }
 */
export async function leadTallies(db: Kysely<Database>, event: string, exhibitors: readonly string[]): Promise<Map<string, LeadTally>> {
  if (exhibitors.length === 0) return new Map();
  const rows = await db
    .selectFrom('leads')
    .select([
      'exhibitor_id',
      (eb) => eb.fn.countAll<string>().as('leads'),
      (eb) => eb.fn.count<string>('rating').as('rated'),
      sql<string | null>`sum(rating)`.as('rating_sum'),
    ])
    .where('event_id', '=', event)
    .where('exhibitor_id', 'in', exhibitors)
    .groupBy('exhibitor_id')
    .execute();
  return new Map(rows.map((r) => [r.exhibitor_id, { leads: Number(r.leads), rated: Number(r.rated), ratingSum: Number(r.rating_sum ?? 0) }]));
}
