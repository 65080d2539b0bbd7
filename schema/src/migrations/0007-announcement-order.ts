import type { SqlMigration } from './sql-migration.ts';

/**
 * Announcements in the order they were made. `created_at` alone cannot say: PGlite's clock ticks in milliseconds, so
 * two announcements made within one share it, and the `id` tie-break follows whatever the id is (a client may choose
 * it). `seq` is assigned at insert and breaks the tie; existing rows get numbers in storage order.
 */
export const announcementOrder: SqlMigration = {
  up: [
    `alter table announcements add column seq bigint generated always as identity`,
    `drop index announcements_event_created_idx`,
    `create index announcements_event_created_idx on announcements (event_id, created_at desc, seq desc)`,
  ],
  down: [
    `drop index announcements_event_created_idx`,
    `alter table announcements drop column seq`,
    `create index announcements_event_created_idx on announcements (event_id, created_at desc, id desc)`,
  ],
};
