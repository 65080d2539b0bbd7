import { sql, type Kysely } from 'kysely';
import type { ZodError } from 'zod';
import { TicketRow, type ImportResult } from '@opshub/schema';
import type { Database, NewTicket, TicketRecord, TicketStatus } from '@opshub/schema/db';
import { isRecordError, NotFoundError } from '../errors.ts';

// The roster's CSV form is read next door; exported here too because callers think of it as part of the ticket import.
export { parseTicketCsv } from './parse-ticket-csv.ts';

/** A roster entry as the hub uses it. */
export interface Ticket {
  event: string;
  code: string;
  holder: string;
  email: string;
  type: string;
  /** zone ids the ticket admits to; empty means every zone */
  zones: string[];
  status: TicketStatus;
  orderCode: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** when it was revoked; null while valid */
  revokedAt: Date | null;
}

export interface ImportOptions {
  /** Rows per multi-row upsert statement (default 500: ~3,000 bind parameters, well under PostgreSQL's 65,535). */
  readonly batchSize?: number;
  /** receives the codes of the rows accepted, e.g. to project just those into the gate replicas */
  readonly acceptedCodes?: string[];
}

/**
 * Imports a roster for `event`, idempotent by ticket code, in multi-row upserts of `batchSize` rows.
 *
 * Each row is validated with `TicketRow`; a row is rejected (and the rest still imported) when it is invalid, names a
 * zone the event does not have, or repeats the code of an earlier accepted row of the same upload.
 * `row` in a rejection is the 1-based position among the data rows (array index + 1; for CSV see `parseTicketCsv`).
 *
 * A code that already exists is updated in place (holder, email, type, zones), never duplicated. Its status is left
 * alone: a revoked ticket stays revoked when an old roster is uploaded again; revocation is undone only deliberately,
 * never as a side effect of a bulk upload. `updated_at` moves only when a field actually changed.
 *
 * @throws {NotFoundError} when the event does not exist
 * @example
 * await importTickets(db, 'expo', [{ code: 'A1', holder: 'Ana', zones: ['hall'] }, { code: '' }]);
 * // { accepted: 1, rejected: [{ row: 2, reason: 'code: Too small: expected string to have >=1 characters' }] }
 */
export async function importTickets(
  db: Kysely<Database>,
  event: string,
  rows: readonly unknown[],
  { batchSize = 500, acceptedCodes }: ImportOptions = {},
): Promise<ImportResult> {
  const zones = await eventZones(db, event);
  const rejected: ImportResult['rejected'] = [];
  const firstRowOf = new Map<string, number>();
  const accepted: NewTicket[] = [];
  /** the input row number of each accepted ticket, to report one the Store refuses */
  const rowOfAccepted: number[] = [];
  for (let index = 0; index < rows.length; index++) {
    // A 100,000-row roster takes seconds to validate: the other sockets are served between slices (issue #11).
    if (index > 0 && index % YIELD_EVERY_ROWS === 0) await yieldToEventLoop();
    const input = rows[index];
    const row = index + 1;
    const reject = (reason: string): void => void rejected.push({ row, reason });
    const parsed = TicketRow.safeParse(input);
    if (!parsed.success) {
      reject(describeIssues(parsed.error));
      continue;
    }
    const ticket = parsed.data;
    const unknown = ticket.zones.filter((z) => !zones.has(z));
    if (unknown.length > 0) {
      reject(`unknown zone${unknown.length > 1 ? 's' : ''} ${unknown.map((z) => `"${z}"`).join(', ')} for event "${event}"`);
      continue;
    }
    const first = firstRowOf.get(ticket.code);
    if (first !== undefined) {
      reject(`duplicate code "${ticket.code}" (first in row ${first})`);
      continue;
    }
    firstRowOf.set(ticket.code, row);
    accepted.push({ event_id: event, code: ticket.code, holder: ticket.holder, email: ticket.email, type: ticket.type, zones: [...new Set(ticket.zones)] });
    rowOfAccepted.push(row);
  }
  // Each batch is one statement, atomic on its own, and commits on its own: one transaction around 100,000 rows would
  // hold PGlite's single connection for seconds while gates wait to record check-ins. A failed import is simply
  // retried (it is idempotent); pass a transaction as `db` to make it all-or-nothing.
  // Should the Store still refuse a value validation let through, that batch goes in row by row and the refused rows
  // are reported with their reason: an import is never left half-written by one bad row (issue #11).
  const refused = new Set<number>();
  for (let i = 0; i < accepted.length; i += batchSize) {
    const batch = accepted.slice(i, i + batchSize);
    // On PGlite every statement runs on this thread: one batch at a time, sockets served in between.
    if (i > 0) await yieldToEventLoop();
    try {
      await upsert(db, batch);
    } catch (error) {
      if (!isRecordError(error)) throw error;
      for (let j = 0; j < batch.length; j++) {
        try {
          await upsert(db, [batch[j]!]);
        } catch (rowError) {
          if (!isRecordError(rowError)) throw rowError;
          refused.add(i + j);
          rejected.push({ row: rowOfAccepted[i + j]!, reason: `the Store refused it: ${rowError instanceof Error ? rowError.message.slice(0, 200) : String(rowError)}` });
        }
      }
    }
  }
  if (refused.size > 0) rejected.sort((a, b) => a.row - b.row);
  accepted.forEach((t, i) => refused.has(i) || acceptedCodes?.push(t.code));
  return { accepted: accepted.length - refused.size, rejected };
}

/** Rows validated between two turns of the event loop during an import. */
const YIELD_EVERY_ROWS = 2000;

/** Lets every socket's waiting I/O run before the next slice of a long job. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function upsert(db: Kysely<Database>, tickets: NewTicket[]): Promise<void> {
  await db
    .insertInto('tickets')
    .values(tickets)
    .onConflict((oc) =>
      oc
        .columns(['event_id', 'code'])
        .doUpdateSet((eb) => ({
          holder: eb.ref('excluded.holder'),
          email: eb.ref('excluded.email'),
          type: eb.ref('excluded.type'),
          zones: eb.ref('excluded.zones'),
          updated_at: sql<Date>`now()`,
        }))
        // unchanged rows are not rewritten: no dead tuples, and updated_at keeps meaning "last changed"
        .where(sql<boolean>`(tickets.holder, tickets.email, tickets.type, tickets.zones) is distinct from (excluded.holder, excluded.email, excluded.type, excluded.zones)`),
    )
    .execute();
}

async function eventZones(db: Kysely<Database>, event: string): Promise<Set<string>> {
  const found = await db.selectFrom('events').select('id').where('id', '=', event).executeTakeFirst();
  if (!found) throw new NotFoundError('event', event);
  const zones = await db.selectFrom('zones').select('id').where('event_id', '=', event).execute();
  return new Set(zones.map((z) => z.id));
}

/** `path: message` per issue, e.g. `email: Invalid email address; zones.0: Too small: ...`. */
function describeIssues(error: ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/**
 * Marks a ticket revoked; gates then answer `revoked` for it. Revoking twice is harmless.
 * @throws {NotFoundError} when the event has no ticket with this code
 * @example const ticket = await revokeTicket(db, 'expo', 'A1'); // ticket.status === 'revoked'
 */
export async function revokeTicket(db: Kysely<Database>, event: string, code: string): Promise<Ticket> {
  const row = await db
    .updateTable('tickets')
    // revoked_at decides "admitted after its revocation" (0008-trust); revoking twice keeps the first time.
    .set({ status: 'revoked', revoked_at: sql<Date>`coalesce(revoked_at, now())`, updated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('code', '=', code)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('ticket', code);
  return toTicket(row);
}

/**
 * Undoes a revocation (a mistaken one at the desk): the ticket admits again at every gate. Harmless on a valid ticket.
 * @throws {NotFoundError} when the event has no ticket with this code
 * @example const ticket = await unrevokeTicket(db, 'expo', 'A1'); // ticket.status === 'valid'
 */
export async function unrevokeTicket(db: Kysely<Database>, event: string, code: string): Promise<Ticket> {
  const row = await db
    .updateTable('tickets')
    .set({ status: 'valid', revoked_at: null, updated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('code', '=', code)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('ticket', code);
  return toTicket(row);
}

/**
 * Tickets whose code equals or starts with `q`, or whose holder or email contains it (case-insensitive): exact code
 * matches first, then by holder. An empty `q` lists the roster from the start. Asks for one more than `limit` so the
 * caller can say there are more.
 * @example const [ana] = await searchTickets(db, 'expo', 'ana@', 25);
 */
export async function searchTickets(db: Kysely<Database>, event: string, q: string, limit: number): Promise<Ticket[]> {
  let query = db.selectFrom('tickets').selectAll().where('event_id', '=', event);
  if (q !== '') {
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const prefix = `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb('code', 'like', prefix), eb('holder', 'ilike', like), eb('email', 'ilike', like)]));
  }
  const rows = await query
    .orderBy(sql`code = ${q}`, 'desc')
    .orderBy('holder')
    .orderBy('code')
    .limit(limit + 1)
    .execute();
  return rows.map(toTicket);
}

/**
 * One ticket, or null.
 * @example const ticket = await getTicket(db, 'expo', 'A1');
 */
export async function getTicket(db: Kysely<Database>, event: string, code: string): Promise<Ticket | null> {
  const row = await db.selectFrom('tickets').selectAll().where('event_id', '=', event).where('code', '=', code).executeTakeFirst();
  return row ? toTicket(row) : null;
}

/**
 * The tickets with these codes (those that exist), in no particular order.
 * @example const [a1] = await getTickets(db, 'expo', ['A1']);
 */
export async function getTickets(db: Kysely<Database>, event: string, codes: readonly string[]): Promise<Ticket[]> {
  if (codes.length === 0) return [];
  const rows = await db.selectFrom('tickets').selectAll().where('event_id', '=', event).where('code', 'in', codes).execute();
  return rows.map(toTicket);
}

/**
 * A page of the event's roster in code order (byte order), starting after code `after`.
 * @example
 * let page = await listTickets(db, 'expo', { limit: 1000 });
 * while (page.length > 0) { ...; page = await listTickets(db, 'expo', { after: page.at(-1)!.code, limit: 1000 }); }
 */
export async function listTickets(
  db: Kysely<Database>,
  event: string,
  { after, limit }: { after?: string | undefined; limit: number },
): Promise<Ticket[]> {
  let query = db.selectFrom('tickets').selectAll().where('event_id', '=', event);
  if (after !== undefined) query = query.where('code', '>', after);
  const rows = await query.orderBy('code').limit(limit).execute();
  return rows.map(toTicket);
}

/** A ticket as the gate doc holds it: what a gate needs to decide, nothing else. */
export interface RosterEntry {
  code: string;
  holder: string;
  email: string;
  type: string;
  zones: string[];
  status: TicketStatus;
  orderCode: string | null;
}

/**
 * A page of the roster in code order after code `after`, with only the columns projected into the gate doc. Why not
 * {@link listTickets}: on PGlite every result value is parsed on the hub's thread, and the three timestamps cost more
 * than the rest of the row; a 100,000-ticket projection reads every row.
 * @example const page = await listRosterPage(db, 'expo', { after: 'A999', limit: 250 });
 */
export async function listRosterPage(
  db: Kysely<Database>,
  event: string,
  { after, limit }: { after?: string | undefined; limit: number },
): Promise<RosterEntry[]> {
  let query = db.selectFrom('tickets').select(['code', 'holder', 'email', 'type', 'zones', 'status', 'order_code']).where('event_id', '=', event);
  if (after !== undefined) query = query.where('code', '>', after);
  const rows = await query.orderBy('code').limit(limit).execute();
  return rows.map((r) => ({ code: r.code, holder: r.holder, email: r.email, type: r.type, zones: r.zones, status: r.status, orderCode: r.order_code }));
}

function toTicket(row: TicketRecord): Ticket {
  return {
    event: row.event_id,
    code: row.code,
    holder: row.holder,
    email: row.email,
    type: row.type,
    zones: row.zones,
    status: row.status,
    orderCode: row.order_code,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revokedAt: row.revoked_at ?? null,
  };
}
