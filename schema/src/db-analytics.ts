/**
 * The analytics outbox tables as kysely sees them; `migrations/0017-analytics-outbox.ts` and `0021-analytics-erasure.ts` create exactly these.
 * `Database` in `db.ts` extends {@link AnalyticsTables}. Type-only kysely imports, as in `db.ts`.
 */
import type { ColumnType, Generated, GeneratedAlways } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** `bigint` and `xid8`: node-postgres reads them as strings, PGlite `bigint` as a number; the repository normalises. */
type Big = ColumnType<string | number, string | number, string | number>;

/** One analytics event waiting in (or kept by) the outbox. */
export interface AnalyticsOutboxTable {
  id: GeneratedAlways<string | number>;
  tx: Generated<string>;
  event_id: string;
  ticket: Generated<string>;
  actor: Generated<string>;
  at: Timestamp;
  /** the event as a ClickHouse TabSeparated line, without the id */
  line: string;
}

/** One ClickHouse target's progress through the outbox, and who ships to it. */
export interface AnalyticsRelayTable {
  target: string;
  epoch: Generated<string>;
  cursor_tx: Generated<string>;
  cursor_id: Generated<Big>;
  pending_tx: string | null;
  pending_id: Big | null;
  pending_token: string | null;
  shipped: Generated<Big>;
  lease_owner: string | null;
  lease_until: Timestamp | null;
  updated_at: Generated<Timestamp>;
  /** the last erasure request applied to this target (migrations/0021-analytics-erasure.ts) */
  erased_id: Generated<Big>;
}

/** One request to erase analytics: an event's, or some attendees' (tickets, actors) within it. */
export interface AnalyticsErasuresTable {
  id: GeneratedAlways<string | number>;
  event_id: string;
  tickets: Generated<string[]>;
  actors: Generated<string[]>;
  upto_id: Big;
  outbox_rows: Generated<Big>;
  requested_by: string;
  at: Generated<Timestamp>;
}

export interface AnalyticsTables {
  analytics_outbox: AnalyticsOutboxTable;
  analytics_relay: AnalyticsRelayTable;
  analytics_erasures: AnalyticsErasuresTable;
}
