/**
 * The emergency tables as kysely sees them; `migrations/0024-emergency.ts` creates exactly these (and adds
 * `hold_gates`, `ended_at`, `ended_by` to `announcements`, typed in `db.ts`). `Database` in `db.ts` extends
 * {@link EmergencyTables}.
 */
import type { CreatedAt } from './db.ts';

/** One screen that showed one announcement: counted once, whichever hub heard of it. */
export interface AnnouncementViewsTable {
  announcement_id: string;
  event_id: string;
  screen: 'gate' | 'audience' | 'projector' | 'console';
  /** the gate's device id, or the page's client id */
  client: string;
  first_at: CreatedAt;
}

export interface EmergencyTables {
  announcement_views: AnnouncementViewsTable;
}
