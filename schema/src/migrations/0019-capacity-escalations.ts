import type { SqlMigration } from './sql-migration.ts';

/**
 * Capacity escalations (issue 12, item 5): a zone past capacity alerts again at 110 % and 125 %, so the armed state of
 * those thresholds is kept beside 80/90/100 % (one alert per crossing across hub processes, as before).
 */
export const capacityEscalations: SqlMigration = {
  up: [
    `alter table zone_thresholds drop constraint if exists zone_thresholds_percent_check`,
    `alter table zone_thresholds add constraint zone_thresholds_percent_check check (percent in (80, 90, 100, 110, 125))`,
  ],
  down: [
    `delete from zone_thresholds where percent in (110, 125)`,
    `alter table zone_thresholds drop constraint if exists zone_thresholds_percent_check`,
    `alter table zone_thresholds add constraint zone_thresholds_percent_check check (percent in (80, 90, 100))`,
  ],
};
