import { sql, type Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';
import type { AnalyticsEvent } from '../../analytics/analytics.ts';
import { rowLine, toEventRow } from '../../analytics/event-row.ts';

/**
 * The analytics outbox in the Store (`schema/src/migrations/0017-analytics-outbox.ts` explains the table and why
 * relays read in `(tx, id)` order). Streams call {@link recordAnalytics} inside the transaction that writes the fact;
 * the relay (`hub/src/analytics/outbox-relay.ts`) uses the rest.
 */

// Queries qualify their columns (`o.tx`): the text casts in the select list are named like the columns, and an
// `order by tx` would sort by the text (as '1000' < '999').

/** A place in the outbox's shipping order: after every row with a smaller `(tx, id)`. Both as decimal text. */
export interface OutboxPosition {
  readonly tx: string;
  readonly id: string;
}

/** Before the first row. */
export const outboxStart: OutboxPosition = Object.freeze({ tx: '0', id: '0' });

export interface OutboxRow {
  readonly id: string;
  readonly tx: string;
  /** the TabSeparated line without the id */
  readonly line: string;
}

/** One ClickHouse target's progress, as the relay that holds its lease sees it. */
export interface RelayState {
  readonly target: string;
  /** random per target row: part of every deduplication token (see the migration) */
  readonly epoch: string;
  readonly cursor: OutboxPosition;
  /** the batch recorded as on its way: ship exactly `(cursor, pending]` with `token` before anything else */
  readonly pending: { readonly to: OutboxPosition; readonly token: string } | null;
  readonly shipped: number;
  /** the last erasure request applied to this target */
  readonly erased: number;
}

/**
 * Writes analytics events into the outbox, in the caller's transaction: they commit with the fact they describe, or
 * not at all. This is the one call every stream makes where it used to hand events to analytics directly.
 * @throws {Error} when `trx` is not a transaction (an event written on its own could outlive a rolled-back fact)
 * @example
 * await store.db.transaction().execute(async (trx) => {
 *   const outcome = await castVote(trx, vote);
 *   await recordAnalytics(trx, { ts: Date.now(), event: 'expo', kind: 'poll.vote', actor: 'ana', session: 'keynote' });
 * });
 */
export async function recordAnalytics(trx: Kysely<Database>, events: AnalyticsEvent | readonly AnalyticsEvent[]): Promise<void> {
  if (!trx.isTransaction) throw new Error('recordAnalytics needs the transaction that writes the fact it describes');
  const list = Array.isArray(events) ? (events as readonly AnalyticsEvent[]) : [events as AnalyticsEvent];
  if (list.length === 0) return;
  const rows = list.map((event) => {
    const row = toEventRow(event);
    return { event_id: row.event, ticket: row.ticket, actor: row.actor, at: new Date(row.ts), line: rowLine(row) };
  });
  await trx.insertInto('analytics_outbox').values(rows).execute();
}

/**
 * The next rows after `after` in shipping order, at most `limit`, and only rows whose transaction is older than every
 * transaction still running: no row can later commit before them, so the cursor never passes a gap.
 * @example const rows = await readOutbox(db, state.cursor, 50_000);
 */
export async function readOutbox(db: Kysely<Database>, after: OutboxPosition, limit: number): Promise<OutboxRow[]> {
  const { rows } = await sql<OutboxRow>`
    select o.id::text as id, o.tx::text as tx, o.line from analytics_outbox o
    where (o.tx, o.id) > (${after.tx}::xid8, ${after.id}::bigint) and o.tx < pg_snapshot_xmin(pg_current_snapshot())
    order by o.tx, o.id
    limit ${limit}
  `.execute(db);
  return rows;
}

/** A batch as the relay sends it: its rows as one ClickHouse body (`id\tline` per row), their count and the last position. */
export interface OutboxBody {
  readonly body: string;
  readonly rows: number;
  readonly last: OutboxPosition | null;
}

/**
 * {@link readOutbox}, or with `upTo` the rows of `(after, upTo]` (a recorded batch read again), joined into one insert
 * body by the database: one value comes back instead of thousands of rows, which is most of the read's cost (PGlite
 * hands rows over one by one).
 * @example const { body, rows, last } = await readOutboxBody(db, state.cursor, { limit: 50_000 });
 */
export async function readOutboxBody(
  db: Kysely<Database>,
  after: OutboxPosition,
  bound: { limit: number } | { upTo: OutboxPosition },
  /** a large backlog waits: hold the planner to the index scan (see {@link inOrderedScan}) */
  options: { backlog?: boolean } = {},
): Promise<OutboxBody> {
  const window =
    'limit' in bound
      ? sql`o.tx < pg_snapshot_xmin(pg_current_snapshot()) order by o.tx, o.id limit ${bound.limit}`
      : sql`(o.tx, o.id) <= (${bound.upTo.tx}::xid8, ${bound.upTo.id}::bigint) order by o.tx, o.id`;
  // The rows are taken once (materialized, in shipping order), then joined, counted and their last position read,
  // each from that: one ordered aggregate whose input is already in order, where `array_agg(… order by … desc)` for
  // the last position sorted every row a second time.
  const read = (trx: Kysely<Database>) => sql<{ body: string | null; n: string | number; last: string | null }>`
    with b as materialized (
      select o.tx, o.id, o.line from analytics_outbox o where (o.tx, o.id) > (${after.tx}::xid8, ${after.id}::bigint) and ${window}
    )
    select (select string_agg(b.id::text || E'\t' || b.line, E'\n' order by b.tx, b.id) from b) as body,
           (select count(*) from b) as n,
           (select b.tx::text || '.' || b.id::text from b order by b.tx desc, b.id desc limit 1) as last
  `.execute(trx);
  const { rows } = await (options.backlog ? inOrderedScan(db, read) : read(db));
  const row = rows[0];
  const [tx, id] = row?.last ? row.last.split('.') : [];
  return { body: row?.body ?? '', rows: Number(row?.n ?? 0), last: tx && id ? { tx, id } : null };
}

/**
 * Runs `read` with the planner held to an index scan. The batch is the first rows after the cursor in `(tx, id)`
 * order, which the `(tx, id)` index yields already sorted, so a scan can stop after `limit` rows. Without statistics
 * (PGlite never analyzes; a server's may lag a surge) the planner guesses a few thousand rows and picks a bitmap or
 * sequential scan of the whole backlog plus a sort spilled to disk, for every batch: measured 8 times slower on a
 * 100,000-row backlog, and growing with it. Only for a backlog (the relay's last batch was full): the hint needs a
 * transaction of four statements, which on PGlite holds its one connection across several turns of the event loop, and
 * a write on the live path would wait behind it; a short read plans well enough without it.
 */
async function inOrderedScan<T>(db: Kysely<Database>, read: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  const run = async (trx: Kysely<Database>) => {
    await sql`set local enable_bitmapscan = off`.execute(trx);
    await sql`set local enable_seqscan = off`.execute(trx);
    return read(trx);
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

/**
 * Takes or renews the lease on `target` for `leaseMs`, creating its row at the start of the outbox when new. Returns
 * the target's state when `owner` holds the lease now, null when another relay's lease is still running.
 * @example const state = await claimRelay(db, 'clickhouse', hubId, 10_000);
 */
export async function claimRelay(db: Kysely<Database>, target: string, owner: string, leaseMs: number): Promise<RelayState | null> {
  await sql`insert into analytics_relay (target) values (${target}) on conflict (target) do nothing`.execute(db);
  const { rows } = await sql<RelayRow>`
    update analytics_relay
    set lease_owner = ${owner}, lease_until = now() + make_interval(secs => ${leaseMs / 1000}), updated_at = now()
    where target = ${target} and (lease_owner is null or lease_owner = ${owner} or lease_until < now())
    returning target, epoch, cursor_tx::text as cursor_tx, cursor_id::text as cursor_id, pending_tx::text as pending_tx,
              pending_id::text as pending_id, pending_token, shipped::text as shipped, erased_id::text as erased_id
  `.execute(db);
  const row = rows[0];
  return row ? toState(row) : null;
}

/**
 * Records the batch `(cursor, to]` as on its way, before it is sent. False when `owner` no longer holds the lease
 * (another relay took over): the caller must not send it.
 */
export async function recordPending(db: Kysely<Database>, target: string, owner: string, to: OutboxPosition, token: string): Promise<boolean> {
  const result = await sql`
    update analytics_relay set pending_tx = ${to.tx}::xid8, pending_id = ${to.id}::bigint, pending_token = ${token}, updated_at = now()
    where target = ${target} and lease_owner = ${owner} and lease_until > now()
  `.execute(db);
  return Number(result.numAffectedRows ?? 0) === 1;
}

/**
 * Moves the cursor to the end of the batch that was just stored and clears it as pending. False when `owner` lost the
 * lease meanwhile (the new holder sends the same batch again, which ClickHouse recognises by its token).
 */
export async function commitProgress(db: Kysely<Database>, target: string, owner: string, to: OutboxPosition, rows: number): Promise<boolean> {
  const result = await sql`
    update analytics_relay
    set cursor_tx = ${to.tx}::xid8, cursor_id = ${to.id}::bigint, pending_tx = null, pending_id = null, pending_token = null,
        shipped = shipped + ${rows}, updated_at = now()
    where target = ${target} and lease_owner = ${owner}
  `.execute(db);
  return Number(result.numAffectedRows ?? 0) === 1;
}

/** Gives the lease up (a clean shutdown), so another relay takes over at once instead of after the lease runs out. */
export async function releaseRelay(db: Kysely<Database>, target: string, owner: string): Promise<void> {
  await sql`update analytics_relay set lease_owner = null, lease_until = null where target = ${target} and lease_owner = ${owner}`.execute(db);
}

/**
 * What waits after `after`: how many rows (counted up to `cap`, so the count stays cheap during a long outage) and
 * when the oldest of them was written.
 */
export async function outboxBacklog(db: Kysely<Database>, after: OutboxPosition, cap = 1_000_000): Promise<{ events: number; oldestAt: Date | null }> {
  const [count, oldest] = await Promise.all([
    sql<{ n: string | number }>`
      select count(*) as n from (select 1 from analytics_outbox where (tx, id) > (${after.tx}::xid8, ${after.id}::bigint) limit ${cap}) waiting
    `.execute(db),
    sql<{ at: Date | string }>`
      select at from analytics_outbox where (tx, id) > (${after.tx}::xid8, ${after.id}::bigint) order by tx, id limit 1
    `.execute(db),
  ]);
  const at = oldest.rows[0]?.at;
  return { events: Number(count.rows[0]?.n ?? 0), oldestAt: at === undefined ? null : new Date(at) };
}

/**
 * Deletes outbox rows written before `before` (the stated retention), at most `limit` at a time; returns how many.
 * Rows past retention go whether or not every target has them: this bounds the outbox while ClickHouse is down.
 */
export async function pruneOutbox(db: Kysely<Database>, before: Date, limit = 10_000): Promise<number> {
  const result = await sql`
    delete from analytics_outbox where id in (select id from analytics_outbox where at < ${before} order by at limit ${limit})
  `.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

interface RelayRow {
  target: string;
  epoch: string;
  cursor_tx: string;
  cursor_id: string;
  pending_tx: string | null;
  pending_id: string | null;
  pending_token: string | null;
  shipped: string;
  erased_id: string;
}

function toState(row: RelayRow): RelayState {
  return {
    target: row.target,
    epoch: row.epoch,
    cursor: { tx: String(row.cursor_tx), id: String(row.cursor_id) },
    pending:
      row.pending_tx !== null && row.pending_id !== null && row.pending_token !== null
        ? { to: { tx: String(row.pending_tx), id: String(row.pending_id) }, token: row.pending_token }
        : null,
    shipped: Number(row.shipped),
    erased: Number(row.erased_id),
  };
}
