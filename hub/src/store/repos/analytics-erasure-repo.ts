import { sql, type Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

/**
 * Erasure requests for analytics (`schema/src/migrations/0021-analytics-erasure.ts`): written by the REST route,
 * applied to every ClickHouse target by its relay (`hub/src/analytics/outbox-relay.ts`).
 */

/** One request, as relays apply it. Both lists empty: the whole event. */
export interface ErasureRequest {
  readonly id: number;
  readonly event: string;
  readonly tickets: readonly string[];
  readonly actors: readonly string[];
  /** rows with an outbox id above this were recorded after the request and are not its business */
  readonly uptoId: number;
  readonly outboxRows: number;
  readonly at: Date;
}

/**
 * Records an erasure and deletes the matching outbox rows, shipped or not, in the caller's transaction (pass the one
 * that writes the audit row). Nothing the relay reads afterwards carries them, and a batch sent again after a crash is
 * read again from the outbox, so it does not carry them either.
 *
 * The outbox is locked against writers until commit (`share row exclusive`: rows being written by a transaction still
 * open when this one started are waited for, and two erasures run one after the other), so every row up to `upto_id`
 * is committed and seen by the delete. Erasures are rare and the lock lasts one delete.
 * @example
 * await db.transaction().execute((trx) => requestErasure(trx, { event: 'expo', tickets: ['T-1'], actors: ['att-x'], by: 'ana' }));
 */
export async function requestErasure(
  trx: Kysely<Database>,
  request: { event: string; tickets: readonly string[]; actors: readonly string[]; by: string },
): Promise<ErasureRequest> {
  if (!trx.isTransaction) throw new Error('requestErasure needs a transaction (the outbox lock lasts until it commits)');
  await sql`lock table analytics_outbox in share row exclusive mode`.execute(trx);
  const { rows: top } = await sql<{ id: string | number | null }>`select max(id) as id from analytics_outbox`.execute(trx);
  const upto = Number(top[0]?.id ?? 0);
  const whole = request.tickets.length === 0 && request.actors.length === 0;
  const matching = whole
    ? sql`event_id = ${request.event} and id <= ${upto}`
    : sql`event_id = ${request.event} and id <= ${upto} and (ticket = any(${[...request.tickets]}::text[]) or actor = any(${[...request.actors]}::text[]))`;
  const deleted = await sql`delete from analytics_outbox where ${matching}`.execute(trx);
  const { rows } = await sql<ErasureRow>`
    insert into analytics_erasures (event_id, tickets, actors, upto_id, outbox_rows, requested_by)
    values (${request.event}, ${[...request.tickets]}::text[], ${[...request.actors]}::text[], ${upto}, ${Number(deleted.numAffectedRows ?? 0)}, ${request.by})
    returning ${erasureColumns}
  `.execute(trx);
  return toRequest(rows[0]!);
}

/** Requests after `afterId`, oldest first, at most `limit`. */
export async function erasuresAfter(db: Kysely<Database>, afterId: number, limit = 100): Promise<ErasureRequest[]> {
  const { rows } = await sql<ErasureRow>`select ${erasureColumns} from analytics_erasures where id > ${afterId} order by id limit ${limit}`.execute(db);
  return rows.map(toRequest);
}

/** The newest request's id, 0 when there is none. */
export async function lastErasure(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ id: string | number | null }>`select max(id) as id from analytics_erasures`.execute(db);
  return Number(rows[0]?.id ?? 0);
}

/** How far `target` got through the requests. */
export async function erasedUpTo(db: Kysely<Database>, target: string): Promise<number> {
  const { rows } = await sql<{ id: string | number }>`select erased_id as id from analytics_relay where target = ${target}`.execute(db);
  return Number(rows[0]?.id ?? 0);
}

/**
 * Records that `target` applied every request up to `id`. False when `owner` no longer holds the lease: the new holder
 * applies the request again, which finds nothing left to delete.
 */
export async function recordErased(db: Kysely<Database>, target: string, owner: string, id: number): Promise<boolean> {
  const result = await sql`update analytics_relay set erased_id = greatest(erased_id, ${id}), updated_at = now() where target = ${target} and lease_owner = ${owner}`.execute(db);
  return Number(result.numAffectedRows ?? 0) === 1;
}

const erasureColumns = sql`id, event_id, tickets, actors, upto_id, outbox_rows, at`;

interface ErasureRow {
  id: string | number;
  event_id: string;
  tickets: string[];
  actors: string[];
  upto_id: string | number;
  outbox_rows: string | number;
  at: Date | string;
}

function toRequest(row: ErasureRow): ErasureRequest {
  return {
    id: Number(row.id),
    event: row.event_id,
    tickets: row.tickets,
    actors: row.actors,
    uptoId: Number(row.upto_id),
    outboxRows: Number(row.outbox_rows),
    at: new Date(row.at),
  };
}
