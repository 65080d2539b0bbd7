import type { SqlMigration } from './sql-migration.ts';

/**
 * The analytics outbox (issue 14): every analytics event is a row written in the same transaction as the fact it
 * describes, so an acknowledged vote, question, lead or check-in can never lose its analytics. Relays ship the rows to
 * ClickHouse and record how far they got per target. Row types: `schema/src/db-analytics.ts`.
 *
 * `id` increases in insertion order, but transactions commit out of that order, so a relay reading "after id N" would
 * skip a row whose transaction was still open. Each row therefore also carries its transaction's id (`tx`, 64-bit,
 * never wraps), and relays read in `(tx, id)` order only rows whose transaction is older than every transaction still
 * running (`pg_snapshot_xmin`): nothing can commit later before such a row, so a cursor on `(tx, id)` skips nothing.
 *
 * `line` is the event as one ClickHouse TabSeparated line (without the id, which the relay puts in front), built once
 * when the event is written: the relay only joins lines. `event_id`, `ticket`, `actor` and `at` are copies kept for
 * erasure and retention.
 *
 * `analytics_relay` holds one row per ClickHouse target (a shared server, or one hub's embedded chDB): its cursor,
 * the batch in flight (`pending_*`: recorded before it is sent, so a batch sent again after a crash is the very same
 * rows with the same deduplication token), and the lease that lets one relay at a time ship to that target. `epoch`,
 * random per row, goes into every token: a new Store (whose positions start again at 0) feeding a ClickHouse that
 * remembers another Store's tokens never has a fresh batch mistaken for a repeat.
 */
export const analyticsOutbox: SqlMigration = {
  up: [
    `create table analytics_outbox (
      id bigint generated always as identity primary key,
      tx xid8 not null default pg_current_xact_id(),
      event_id text not null,
      ticket text not null default '',
      actor text not null default '',
      at timestamptz(3) not null,
      line text not null
    )`,
    `create index analytics_outbox_order_idx on analytics_outbox (tx, id)`,
    `create index analytics_outbox_at_idx on analytics_outbox (at)`,
    `create index analytics_outbox_event_idx on analytics_outbox (event_id, ticket)`,
    `create table analytics_relay (
      target text primary key,
      epoch text not null default gen_random_uuid()::text,
      cursor_tx xid8 not null default '0',
      cursor_id bigint not null default 0,
      pending_tx xid8,
      pending_id bigint,
      pending_token text,
      shipped bigint not null default 0,
      lease_owner text,
      lease_until timestamptz(3),
      updated_at timestamptz(3) not null default now()
    )`,
  ],
  down: [`drop table analytics_relay`, `drop table analytics_outbox`],
};
