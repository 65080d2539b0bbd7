import type { SqlMigration } from './sql-migration.ts';

/**
 * Sessions as real rooms and idempotent lead captures (issue 17). Row types: `schema/src/db-sessions.ts`.
 *
 * A session's room and overflow are zones of the event, checked when written rather than by foreign key: an event's
 * zones are replaced as a whole list by `PATCH /api/v1/events/{e}`, and a session naming a zone that is gone should
 * show up as such in the agenda, not block the edit. `start_pushed_at` / `overflow_pushed_at` make "about to start"
 * and "moved to overflow" news go out once, whichever hub process notices first (an `update … where … is null`).
 *
 * `lead_captures` remembers every client-generated idempotency key (`lead.capture` `clientId`) a booth sent, with
 * the lead it landed on: the key is inserted in the capture's own transaction, so a capture sent twice (a retry, a
 * reconnect, two tabs, two hubs) waits on the first one's key and then changes nothing.
 */
export const sessions: SqlMigration = {
  up: [
    `create table sessions (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      title text not null,
      zone_id text not null,
      starts_at timestamptz(3) not null,
      ends_at timestamptz(3) not null check (ends_at > starts_at),
      capacity integer check (capacity > 0),
      overflow_zone_id text,
      sponsor_id text,
      start_pushed_at timestamptz(3),
      overflow_pushed_at timestamptz(3),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (event_id, id)
    )`,
    `create index sessions_start_idx on sessions (event_id, starts_at, id)`,
    `create index sessions_zone_idx on sessions (event_id, zone_id, starts_at)`,
    `create table lead_captures (
      event_id text not null references events (id) on delete cascade,
      exhibitor_id text not null,
      client_id text not null,
      ticket_code text not null,
      created_at timestamptz not null default now(),
      primary key (event_id, exhibitor_id, client_id)
    )`,
  ],
  down: [`drop table lead_captures`, `drop table sessions`],
};
