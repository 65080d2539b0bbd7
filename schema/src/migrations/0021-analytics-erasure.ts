import type { SqlMigration } from './sql-migration.ts';

/**
 * Erasure of analytics (issue 14, item 5): one event's raw analytics on request, or one attendee's (GDPR).
 *
 * A request is a row of `analytics_erasures`, written in the transaction that deletes the matching rows from the outbox
 * (so no relay can ship them afterwards, whether or not they were shipped yet). Every ClickHouse target then applies
 * each request once, in id order, from the relay that holds its lease: `analytics_relay.erased_id` is how far it got.
 * A chDB that joins later applies the old requests too (they find nothing), so no hub keeps what another erased.
 *
 * `tickets` and `actors` name whose rows go (a row matches when its ticket is in `tickets` or its actor in `actors`);
 * both empty means the whole event. `upto_id` is the largest outbox id when the request was made: rows recorded
 * after it (the same attendee coming back the next day) are not erased by it. The erasing transaction locks the
 * outbox against concurrent writers for its few milliseconds, so every row up to `upto_id` is committed and deleted.
 */
export const analyticsErasure: SqlMigration = {
  up: [
    `create table analytics_erasures (
      id bigint generated always as identity primary key,
      event_id text not null,
      tickets text[] not null default '{}',
      actors text[] not null default '{}',
      upto_id bigint not null,
      outbox_rows bigint not null default 0,
      requested_by text not null,
      at timestamptz(3) not null default now()
    )`,
    `create index analytics_outbox_actor_idx on analytics_outbox (event_id, actor)`,
    `alter table analytics_relay add column erased_id bigint not null default 0`,
  ],
  down: [`alter table analytics_relay drop column erased_id`, `drop index analytics_outbox_actor_idx`, `drop table analytics_erasures`],
};
