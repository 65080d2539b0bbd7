import type { SqlMigration } from './sql-migration.ts';

/**
 * Control-room levers (issue 12): gate and zone directives, the verdicts they produce at the door, overrides.
 * - `gate_directives` / `zone_directives`: the Store's record of what the hub projects into the gate doc's
 *   `directives` map (gate `state` open/hold/closed with a message; zone `full`, `redirect`, `enforce`).
 * - `checkins.verdict` admits `zone_full` and `gate_closed`; `checkins.override` marks an admission made on a
 *   deliberate override at the gate screen. Row types: `schema/src/db-levers.ts`.
 */
export const levers: SqlMigration = {
  up: [
    `create table gate_directives (
      event_id text not null references events (id) on delete cascade,
      gate_id text not null,
      state text not null check (state in ('open', 'hold', 'closed')),
      message text,
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (event_id, gate_id)
    )`,
    `create table zone_directives (
      event_id text not null references events (id) on delete cascade,
      zone_id text not null,
      "full" boolean not null default false,
      redirect text,
      enforce text not null default 'off' check (enforce in ('off', 'warn', 'refuse')),
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (event_id, zone_id)
    )`,
    `alter table checkins drop constraint if exists checkins_verdict_check`,
    `alter table checkins add constraint checkins_verdict_check check (verdict in ('admitted', 'already_in', 'invalid', 'revoked', 'wrong_zone', 'zone_full', 'gate_closed'))`,
    `alter table checkins add column override boolean not null default false`,
  ],
  down: [
    `alter table checkins drop column override`,
    `delete from checkins where verdict in ('zone_full', 'gate_closed')`,
    `alter table checkins drop constraint if exists checkins_verdict_check`,
    `alter table checkins add constraint checkins_verdict_check check (verdict in ('admitted', 'already_in', 'invalid', 'revoked', 'wrong_zone'))`,
    `drop table zone_directives`,
    `drop table gate_directives`,
  ],
};
