import type { SqlMigration } from './sql-migration.ts';

/**
 * Emergency and announcements on every screen (issue 12 item 6).
 * - `announcements.hold_gates`: sent with "hold all gates"; `ended_at` / `ended_by`: an emergency the control room
 *   ended (until then every screen shows it full-screen).
 * - `announcement_views`: one row per screen that showed an announcement (gate screen by device, audience page,
 *   projector or console by the page's client id), written by whichever hub heard of it first; the control room's
 *   counts are `count(*)` per screen kind, so every hub counts the same. Row types: `schema/src/db-emergency.ts`.
 */
export const emergency: SqlMigration = {
  up: [
    `alter table announcements add column hold_gates boolean not null default false`,
    `alter table announcements add column ended_at timestamptz`,
    `alter table announcements add column ended_by text`,
    `create table announcement_views (
      announcement_id text not null references announcements (id) on delete cascade,
      event_id text not null,
      screen text not null check (screen in ('gate', 'audience', 'projector', 'console')),
      client text not null,
      first_at timestamptz not null default now(),
      primary key (announcement_id, screen, client)
    )`,
  ],
  down: [
    `drop table announcement_views`,
    `alter table announcements drop column ended_by`,
    `alter table announcements drop column ended_at`,
    `alter table announcements drop column hold_gates`,
  ],
};
