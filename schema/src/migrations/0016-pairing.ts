import type { SqlMigration } from './sql-migration.ts';

/**
 * Gate pairing from the console (issue 13): each laptop paired with a gate gets a token of its own, with subject
 * `device:{id}`, so that one laptop can be listed and cut off without touching the others. Revoking a device also
 * writes a `sub` row to `token_revocations` (0008-trust), which is what ends its token early. Row type:
 * `schema/src/db-pairing.ts`.
 */
export const pairing: SqlMigration = {
  up: [
    `create table paired_devices (
      id text primary key,
      event_id text not null references events (id) on delete cascade,
      gate_id text not null,
      label text not null default '',
      created_by text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz
    )`,
    `create index paired_devices_event_idx on paired_devices (event_id, gate_id)`,
  ],
  down: ['drop table paired_devices'],
};
