import type { SqlMigration } from './sql-migration.ts';

/**
 * Events with their zones and gates, the ticket roster, check-ins, announcements and the append-only audit log.
 * Row types: `schema/src/db.ts`.
 */
export const foundation: SqlMigration = {
  up: [
    `create table events (
      id text primary key,
      name text not null,
      timezone text not null default 'UTC',
      created_at timestamptz not null default now()
    )`,
    `create table zones (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      name text not null,
      capacity integer not null check (capacity >= 0),
      primary key (event_id, id)
    )`,
    `create table gates (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      name text not null,
      zone_id text not null,
      primary key (event_id, id),
      foreign key (event_id, zone_id) references zones (event_id, id) on delete cascade
    )`,
    // zones is a text[] rather than jsonb: "does this ticket admit to zone Z" is `Z = any(zones)` or `zones @> ...`,
    // and both drivers read it back as string[]. Empty means every zone.
    // code sorts by "C" (byte order): codes are opaque, and paging through a roster by code must give the same order
    // on every installation whatever its locale.
    `create table tickets (
      event_id text not null references events (id) on delete cascade,
      code text collate "C" not null,
      holder text not null default '',
      email text not null default '',
      type text not null default 'general',
      zones text[] not null default '{}',
      status text not null default 'valid' check (status in ('valid', 'revoked')),
      order_code text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (event_id, code)
    )`,
    // The gate's lookup finds people by email typed in any case.
    `create index tickets_event_email_idx on tickets (event_id, lower(email))`,
    // No foreign keys to tickets or gates: a scan is a fact reported by a gate (also of unknown codes, and possibly of a
    // gate reconfigured since), and it must never be lost to a constraint.
    `create table checkins (
      scan_id text primary key,
      event_id text not null references events (id) on delete cascade,
      code text not null,
      gate_id text not null,
      device text not null,
      dir text not null check (dir in ('in', 'out')),
      at timestamptz(3) not null,
      verdict text not null check (verdict in ('admitted', 'already_in', 'invalid', 'revoked', 'wrong_zone')),
      duplicate boolean not null default false,
      recorded_at timestamptz not null default now()
    )`,
    `create index checkins_event_at_idx on checkins (event_id, at)`,
    `create table announcements (
      id text primary key,
      event_id text not null references events (id) on delete cascade,
      text text not null,
      level text not null check (level in ('info', 'warning', 'emergency')),
      created_by text not null,
      created_at timestamptz not null default now()
    )`,
    `create index announcements_event_created_idx on announcements (event_id, created_at desc, id desc)`,
    // No foreign key to events: the record of who did what must outlive what it was done to.
    `create table audit_log (
      id bigint generated always as identity primary key,
      at timestamptz not null default now(),
      actor text not null,
      role text not null,
      action text not null,
      event_id text,
      target text not null,
      "before" jsonb,
      "after" jsonb
    )`,
    `create index audit_log_event_id_idx on audit_log (event_id, id)`,
    // Append-only is enforced by the database, not by convention: whoever holds a connection still cannot rewrite history.
    `create function audit_log_reject_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege', hint = 'append a new audit row instead';
    end
    $$`,
    `create trigger audit_log_append_only
      before update or delete on audit_log
      for each row execute function audit_log_reject_change()`,
    `create trigger audit_log_no_truncate
      before truncate on audit_log
      for each statement execute function audit_log_reject_change()`,
  ],
  down: [
    'drop table audit_log',
    'drop function audit_log_reject_change()',
    'drop table announcements',
    'drop table checkins',
    'drop table tickets',
    'drop table gates',
    'drop table zones',
    'drop table events',
  ],
};
