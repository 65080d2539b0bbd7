import type { SqlMigration } from './sql-migration.ts';

/**
 * A session's overflow as the hub runs it (issue 17 item 3). Row types: `schema/src/db-sessions.ts`.
 *
 * `overflow_since` is set when the session's room reached its capacity and the hub marked the room full with the
 * redirect to the overflow room; null again once it is released. It is set and cleared by `update … where
 * overflow_since is [not] null` in the transaction that writes the zone directive, so with several hub processes
 * exactly one of them redirects (and one releases) per filling. `overflow_restore_*` keep the room's door policy from
 * before, which the release puts back unless staff changed the policy in between.
 */
export const sessionOverflow: SqlMigration = {
  up: [
    `alter table sessions
      add column overflow_since timestamptz(3),
      add column overflow_restore_full boolean,
      add column overflow_restore_redirect text`,
    `create index sessions_overflowing_idx on sessions (event_id) where overflow_since is not null`,
  ],
  down: [
    `drop index sessions_overflowing_idx`,
    `alter table sessions drop column overflow_restore_redirect, drop column overflow_restore_full, drop column overflow_since`,
  ],
};
