/**
 * The system of record's tables as kysely sees them; `migrations/` creates exactly these.
 *
 * Only types are imported from kysely, so `schema` carries no kysely runtime: the hub owns the kysely version
 * (its `ColumnType` brands are plain structural types and identical across kysely releases).
 *
 * @example
 * import type { Kysely } from 'kysely';
 * import type { Database } from '@opshub/schema/db';
 * const rows = await (db as Kysely<Database>).selectFrom('zones').selectAll().where('event_id', '=', 'expo').execute();
 */
import type { ColumnType, Generated, GeneratedAlways, Insertable, Selectable } from 'kysely';

/** `timestamptz` with a database default: read as a Date, optional on insert. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

/**
 * JSON stored in `jsonb`. Written as a JSON *string*: node-postgres would turn a JS array into a Postgres array
 * literal, so the repositories serialise themselves and both drivers hand the text through unchanged.
 */
export type JsonColumn = ColumnType<unknown, string | null | undefined, string | null>;

export interface EventsTable {
  id: string;
  name: string;
  timezone: Generated<string>;
  created_at: CreatedAt;
}

export interface ZonesTable {
  event_id: string;
  id: string;
  name: string;
  capacity: number;
}

export interface GatesTable {
  event_id: string;
  id: string;
  name: string;
  zone_id: string;
}

export type TicketStatus = 'valid' | 'revoked';

export interface TicketsTable {
  event_id: string;
  code: string;
  holder: Generated<string>;
  email: Generated<string>;
  type: Generated<string>;
  /** Zone ids the ticket admits to; empty means every zone of the event. */
  zones: Generated<string[]>;
  status: Generated<TicketStatus>;
  order_code: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export type ScanDir = 'in' | 'out';
export type ScanVerdict = 'admitted' | 'already_in' | 'invalid' | 'revoked' | 'wrong_zone';

export interface CheckinsTable {
  /** The gate's id for the scan: the same scan arriving twice (mesh and uplink) is one row. */
  scan_id: string;
  event_id: string;
  code: string;
  gate_id: string;
  device: string;
  dir: ScanDir;
  /** When the gate scanned (millisecond precision), not when the hub heard of it. */
  at: ColumnType<Date, Date | string, Date | string>;
  verdict: ScanVerdict;
  duplicate: Generated<boolean>;
  recorded_at: CreatedAt;
}

export type AnnouncementLevel = 'info' | 'warning' | 'emergency';

export interface AnnouncementsTable {
  id: string;
  event_id: string;
  text: string;
  level: AnnouncementLevel;
  created_by: string;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  /** `bigint` identity: node-postgres reads it as a string, PGlite as a number; repositories normalise. */
  id: GeneratedAlways<string | number>;
  at: CreatedAt;
  actor: string;
  role: string;
  action: string;
  event_id: string | null;
  target: string;
  before: JsonColumn;
  after: JsonColumn;
}

export interface Database {
  events: EventsTable;
  zones: ZonesTable;
  gates: GatesTable;
  tickets: TicketsTable;
  checkins: CheckinsTable;
  announcements: AnnouncementsTable;
  audit_log: AuditLogTable;
}

export type EventRow = Selectable<EventsTable>;
export type TicketRecord = Selectable<TicketsTable>;
export type NewTicket = Insertable<TicketsTable>;
export type CheckinRow = Selectable<CheckinsTable>;
export type NewCheckin = Insertable<CheckinsTable>;
export type AnnouncementRow = Selectable<AnnouncementsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
