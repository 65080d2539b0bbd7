/**
 * The session and lead-capture tables as kysely sees them; `migrations/0018-sessions.ts` creates exactly these
 * (with the overflow columns of `0020-session-overflow.ts`).
 * `Database` in `db.ts` extends {@link SessionTables}. Type-only kysely imports, as in `db.ts`.
 */
import type { ColumnType, Selectable } from 'kysely';
import type { CreatedAt } from './db.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type OptionalTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** A session: a room (zone) at a time, with its own capacity, overflow room and sponsor when set. */
export interface SessionsTable {
  event_id: string;
  id: string;
  title: string;
  zone_id: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  capacity: number | null;
  overflow_zone_id: string | null;
  sponsor_id: string | null;
  /** when "about to start" went out by web push (once) */
  start_pushed_at: OptionalTimestamp;
  /** when "moved to the overflow room" went out by web push (once per session: a room that fills again tells nobody twice) */
  overflow_pushed_at: OptionalTimestamp;
  /** since when the room is marked full with the redirect to the overflow room (`0020-session-overflow`); null: not */
  overflow_since: OptionalTimestamp;
  /** the room's `full` before the overflow marked it, put back on release */
  overflow_restore_full: boolean | null;
  /** the room's `redirect` before the overflow set it, put back on release */
  overflow_restore_redirect: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

/** A `lead.capture` idempotency key a booth sent, and the ticket it captured. */
export interface LeadCapturesTable {
  event_id: string;
  exhibitor_id: string;
  client_id: string;
  ticket_code: string;
  created_at: CreatedAt;
}

export interface SessionTables {
  sessions: SessionsTable;
  lead_captures: LeadCapturesTable;
}

export type SessionRow = Selectable<SessionsTable>;
