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
import type { AlertMessage } from './messages.ts';
import type { BoxOfficeTables } from './db-box-office.ts';
import type { EngagementTables } from './db-engagement.ts';
import type { JoinTables } from './db-join.ts';
import type { LeadsTables } from './db-leads.ts';
import type { PushTables } from './db-push.ts';
import type { LeversTables } from './db-levers.ts';
import type { PairingTables } from './db-pairing.ts';
import type { AnalyticsTables } from './db-analytics.ts';
import type { SessionTables } from './db-sessions.ts';
import type { EmergencyTables } from './db-emergency.ts';

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
  /** when the ticket was revoked (`0008-trust`); null while valid */
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export type ScanDir = 'in' | 'out';
export type ScanVerdict = 'admitted' | 'already_in' | 'invalid' | 'revoked' | 'wrong_zone' | 'zone_full' | 'gate_closed';

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
  /** The zone the scanning gate opens into, copied at insert so history survives gate edits. */
  zone_id: Generated<string>;
  /** admitted on a deliberate override at the gate screen (`0015-levers`) */
  override: Generated<boolean>;
}

export type AnnouncementLevel = 'info' | 'warning' | 'emergency';

export interface AnnouncementsTable {
  id: string;
  event_id: string;
  text: string;
  level: AnnouncementLevel;
  created_by: string;
  created_at: CreatedAt;
  /** insert order: the tie-break among announcements made in the same millisecond */
  seq: GeneratedAlways<string>;
  /** sent with "hold all gates" (`0024-emergency`) */
  hold_gates: Generated<boolean>;
  /** an emergency the control room ended, and who ended it (`0024-emergency`) */
  ended_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  ended_by: string | null;
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

export interface Database extends EngagementTables, JoinTables, LeadsTables, BoxOfficeTables, PushTables, PairingTables, AnalyticsTables, SessionTables, LeversTables, EmergencyTables {
  events: EventsTable;
  zones: ZonesTable;
  gates: GatesTable;
  tickets: TicketsTable;
  checkins: CheckinsTable;
  announcements: AnnouncementsTable;
  audit_log: AuditLogTable;
  yjs_updates: YjsUpdatesTable;
  yjs_snapshots: YjsSnapshotsTable;
  event_keys: EventKeysTable;
  alerts: AlertsTable;
  scans_set_aside: ScansSetAsideTable;
  token_revocations: TokenRevocationsTable;
  zone_adjustments: ZoneAdjustmentsTable;
  zone_thresholds: ZoneThresholdsTable;
}

/** A staff correction of a zone's counter: published occupancy = what the scans say + delta (`0004-capacity`). */
export interface ZoneAdjustmentsTable {
  event_id: string;
  zone_id: string;
  delta: number;
  updated_at: CreatedAt;
}

/** Whether a zone's threshold is armed (its next upward crossing alerts). */
export interface ZoneThresholdsTable {
  event_id: string;
  zone_id: string;
  percent: number;
  armed: Generated<boolean>;
}

/** One Yjs update that entered a doc through this hub (`0003-gates`). */
export interface YjsUpdatesTable {
  id: GeneratedAlways<string>;
  doc: string;
  update: Uint8Array;
  created_at: CreatedAt;
}

/** A doc's compacted state: every update with id <= `upto` merged. */
export interface YjsSnapshotsTable {
  doc: string;
  state: Uint8Array;
  /** bigint as text, as both drivers return it */
  upto: ColumnType<string, string | number, string | number>;
  updated_at: CreatedAt;
}

/** The event's Ed25519 key pair for signed, offline-valid tickets (JWKs). */
export interface EventKeysTable {
  event_id: string;
  public_jwk: JsonColumn;
  private_jwk: JsonColumn;
  created_at: CreatedAt;
}

export interface AlertsTable {
  id: string;
  event_id: string;
  /** one of zod's `AlertKind` (the table checks only the shape since 0012) */
  kind: AlertMessage['kind'];
  severity: 'info' | 'warning' | 'critical';
  title: string;
  detail: JsonColumn;
  created_at: CreatedAt;
  acked_by: string | null;
  acked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  withdrawn_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** Why the hub derives no check-in from a scan (`0008-trust`). */
export type SetAsideKind = 'poison' | 'disputed' | 'unknown_gate';

/** A scan the hub will not derive a check-in from, with the reason; loading replicas skip it. */
export interface ScansSetAsideTable {
  scan_id: string;
  event_id: string;
  kind: SetAsideKind;
  gate_id: string;
  /** the scan as JSON text (not jsonb: a record the Store refused may hold what jsonb cannot) */
  record: string;
  reason: string;
  created_at: CreatedAt;
}

/** Tokens ended before their `exp`: one token by `jti`, or every token of a `sub` issued up to `revoked_at`. */
export interface TokenRevocationsTable {
  kind: 'jti' | 'sub';
  value: string;
  revoked_at: ColumnType<Date, Date | string | undefined, Date | string>;
  revoked_by: string;
  reason: Generated<string>;
}

export type EventRow = Selectable<EventsTable>;
export type TicketRecord = Selectable<TicketsTable>;
export type NewTicket = Insertable<TicketsTable>;
export type CheckinRow = Selectable<CheckinsTable>;
export type NewCheckin = Insertable<CheckinsTable>;
export type AnnouncementRow = Selectable<AnnouncementsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
