import type { Kysely } from 'kysely';
import type { Role } from '@opshub/schema';
import type { AuditLogRow, Database } from '@opshub/schema/db';

export interface AuditInput {
  /** who: the token's `sub`, or `system` */
  actor: string;
  role: Role | 'system';
  /** what, as `noun.verb`, e.g. `event.create`, `ticket.revoke` */
  action: string;
  event?: string | undefined;
  /** what it was done to, e.g. a ticket code */
  target: string;
  /** state before and after, as JSON-serialisable values; omit for creations / deletions */
  before?: unknown;
  after?: unknown;
}

export interface AuditEntry {
  id: number;
  at: Date;
  actor: string;
  role: string;
  action: string;
  event: string | null;
  target: string;
  before: unknown;
  after: unknown;
}

/**
 * Appends one row to the audit log. Pass the transaction of the write being audited, so that both commit or neither.
 * The table rejects UPDATE, DELETE and TRUNCATE in the database itself.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   const ticket = await revokeTicket(trx, 'expo', 'A1');
 *   await appendAudit(trx, { actor: 'ana', role: 'staff', action: 'ticket.revoke', event: 'expo', target: 'A1', after: ticket });
 * });
 */
export async function appendAudit(db: Kysely<Database>, input: AuditInput): Promise<AuditEntry> {
  const row = await db
    .insertInto('audit_log')
    .values({
      actor: input.actor,
      role: input.role,
      action: input.action,
      event_id: input.event ?? null,
      target: input.target,
      before: toJson(input.before),
      after: toJson(input.after),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toEntry(row);
}

/** What {@link listAudit} narrows to; every filter given must hold. */
export interface AuditFilter {
  event?: string | undefined;
  actor?: string | undefined;
  /** an action, or a prefix ending in `.` (`ticket.` is every ticket action) */
  action?: string | undefined;
  target?: string | undefined;
  /** ms since the epoch, inclusive */
  from?: number | undefined;
  /** ms since the epoch, exclusive */
  to?: number | undefined;
  /** rows older than this id (paging back) */
  beforeId?: number | undefined;
  limit?: number;
}

/**
 * The latest audit rows, newest first, narrowed by `filter`; `beforeId` pages further back.
 * @example const page = await listAudit(db, { event: 'expo', action: 'ticket.', limit: 100 });
 */
export async function listAudit(db: Kysely<Database>, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const { event, actor, action, target, from, to, beforeId, limit = 100 } = filter;
  let query = db.selectFrom('audit_log').selectAll();
  if (event !== undefined) query = query.where('event_id', '=', event);
  if (actor !== undefined) query = query.where('actor', '=', actor);
  if (action !== undefined) {
    query = action.endsWith('.') ? query.where('action', 'like', `${action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) : query.where('action', '=', action);
  }
  if (target !== undefined) query = query.where('target', '=', target);
  if (from !== undefined) query = query.where('at', '>=', new Date(from));
  if (to !== undefined) query = query.where('at', '<', new Date(to));
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  const rows = await query.orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toEntry);
}

/** JSON text, not the value: node-postgres would send a JS array as a PostgreSQL array literal. */
function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function toEntry(row: AuditLogRow): AuditEntry {
  return {
    // bigint identity: a string from node-postgres, a number from PGlite; ids stay far below 2^53
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    role: row.role,
    action: row.action,
    event: row.event_id,
    target: row.target,
    before: row.before,
    after: row.after,
  };
}
