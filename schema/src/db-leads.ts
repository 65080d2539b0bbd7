/**
 * The exhibitor, sponsor, consent and lead tables as kysely sees them; `migrations/0006-leads.ts` creates exactly
 * these. `Database` in `db.ts` extends {@link LeadsTables}. Type-only kysely imports, as in `db.ts`.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CreatedAt } from './db.ts';

type Millis3 = ColumnType<Date, Date | string | undefined, Date | string>;

export interface SponsorsTable {
  event_id: string;
  id: string;
  name: string;
  sessions: Generated<string[]>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface ExhibitorsTable {
  event_id: string;
  id: string;
  name: string;
  /** the booth */
  zone_id: string;
  sponsor_id: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface TicketConsentsTable {
  event_id: string;
  code: string;
  /** `name`, `email`, `type` */
  fields: Generated<string[]>;
  updated_by: string;
  updated_at: CreatedAt;
}

export interface LeadsTable {
  event_id: string;
  exhibitor_id: string;
  id: string;
  ticket_code: string;
  rating: number | null;
  notes: Generated<string>;
  tags: Generated<string[]>;
  visits: Generated<number>;
  captured_by: string;
  last_scan_id: string | null;
  first_at: Millis3;
  last_at: Millis3;
  updated_at: Millis3;
}

export interface LeadsTables {
  sponsors: SponsorsTable;
  exhibitors: ExhibitorsTable;
  ticket_consents: TicketConsentsTable;
  leads: LeadsTable;
}

export type LeadRow = Selectable<LeadsTable>;
export type ExhibitorRow = Selectable<ExhibitorsTable>;
export type SponsorRow = Selectable<SponsorsTable>;
