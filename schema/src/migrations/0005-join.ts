import type { SqlMigration } from './sql-migration.ts';

/**
 * Joining the audience page with a code: one join code per event, which staff choose or the hub generates, and which
 * the `POST /api/v1/events/{e}/join` route exchanges for an attendee token. Row type: `schema/src/db-join.ts`.
 *
 * The code is kept as written (upper case, no separators): it is not a password but something shown on the
 * projector, and staff read it back to show it. Guessing is fenced in by the per-address limits in `rate_limits`.
 */
export const join: SqlMigration = {
  up: [
    `create table event_join_codes (
      event_id text primary key references events (id) on delete cascade,
      code text not null,
      updated_by text not null,
      updated_at timestamptz not null default now()
    )`,
  ],
  down: ['drop table event_join_codes'],
};
