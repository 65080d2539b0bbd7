import type { SqlMigration } from './sql-migration.ts';

/**
 * The gates: the Yjs replica of each event's gate doc (an update log compacted into snapshots), the event's Ed25519
 * key for offline-valid tickets, the zone of each check-in, and alerts (raised once, acknowledged, withdrawn).
 */
export const gates: SqlMigration = {
  up: [
    // Each hub process appends only the updates that entered the doc through it; loading merges them all.
    `create table yjs_updates (
      id bigint generated always as identity primary key,
      doc text not null,
      update bytea not null,
      created_at timestamptz not null default now()
    )`,
    `create index yjs_updates_doc_id_idx on yjs_updates (doc, id)`,
    // A snapshot covers every update of the doc with id <= upto; compaction writes it, then deletes those updates.
    `create table yjs_snapshots (
      doc text primary key,
      state bytea not null,
      upto bigint not null,
      updated_at timestamptz not null default now()
    )`,
    `create table event_keys (
      event_id text primary key references events (id) on delete cascade,
      public_jwk jsonb not null,
      private_jwk jsonb not null,
      created_at timestamptz not null default now()
    )`,
    `alter table checkins add column zone_id text not null default ''`,
    `create index checkins_event_code_idx on checkins (event_id, code, at desc, scan_id desc)`,
    `create table alerts (
      id text primary key,
      event_id text not null references events (id) on delete cascade,
      kind text not null check (kind in ('capacity', 'duplicate_admission', 'gate_offline')),
      severity text not null check (severity in ('info', 'warning', 'critical')),
      title text not null,
      detail jsonb not null,
      created_at timestamptz not null default now(),
      acked_by text,
      acked_at timestamptz,
      withdrawn_at timestamptz
    )`,
    `create index alerts_event_created_idx on alerts (event_id, created_at desc)`,
  ],
  down: [
    'drop table alerts',
    'drop index checkins_event_code_idx',
    'alter table checkins drop column zone_id',
    'drop table event_keys',
    'drop table yjs_snapshots',
    'drop table yjs_updates',
  ],
};
