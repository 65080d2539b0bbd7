import type { SqlMigration } from './sql-migration.ts';

/**
 * Capacity: staff corrections of a zone's counter (an offset on what the scans say), and the armed state of each
 * zone's 80/90/100 % thresholds, kept in the Store so that across hub processes each crossing alerts exactly once.
 */
export const capacity: SqlMigration = {
  up: [
    `create table zone_adjustments (
      event_id text not null references events (id) on delete cascade,
      zone_id text not null,
      delta integer not null default 0,
      updated_at timestamptz not null default now(),
      primary key (event_id, zone_id)
    )`,
    `create table zone_thresholds (
      event_id text not null references events (id) on delete cascade,
      zone_id text not null,
      percent integer not null check (percent in (80, 90, 100)),
      armed boolean not null default true,
      primary key (event_id, zone_id, percent)
    )`,
  ],
  down: ['drop table zone_thresholds', 'drop table zone_adjustments'],
};
