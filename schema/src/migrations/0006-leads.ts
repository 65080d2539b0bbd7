import type { SqlMigration } from './sql-migration.ts';

/**
 * Exhibitors and sponsors, per-ticket consent to share attendee fields with exhibitors, and leads. Row types:
 * `schema/src/db-leads.ts`.
 *
 * The primary key of `leads` is the arbiter across hub processes: one lead per attendee per booth, so a rescan on any
 * hub counts a visit on the same lead instead of creating a second.
 */
export const leads: SqlMigration = {
  up: [
    // sessions: the session ids the sponsor sponsors (polls, Q&A and chat rooms name sessions by these ids).
    `create table sponsors (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      name text not null,
      sessions text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (event_id, id)
    )`,
    // A booth is a zone of the event; an exhibitor belongs to at most one sponsor.
    `create table exhibitors (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      name text not null,
      zone_id text not null,
      sponsor_id text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (event_id, id),
      foreign key (event_id, zone_id) references zones (event_id, id) on delete cascade,
      foreign key (event_id, sponsor_id) references sponsors (event_id, id)
    )`,
    `create index exhibitors_sponsor_idx on exhibitors (event_id, sponsor_id)`,
    // What a ticket's holder agreed to share with the exhibitors who scan them; no row means nothing.
    `create table ticket_consents (
      event_id text not null,
      code text collate "C" not null,
      fields text[] not null default '{}',
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (event_id, code),
      foreign key (event_id, code) references tickets (event_id, code) on delete cascade
    )`,
    // No foreign key to tickets: a signed ticket token sold after the roster import is a real attendee too.
    // ticket_code is kept for the rescan key and the consent lookup, and never served: it is an admission credential.
    // last_scan_id makes a retried capture (same scanner-chosen id) change nothing.
    `create table leads (
      event_id text not null,
      exhibitor_id text not null,
      id text not null,
      ticket_code text collate "C" not null,
      rating smallint check (rating between 0 and 5),
      notes text not null default '',
      tags text[] not null default '{}',
      visits integer not null default 1 check (visits >= 1),
      captured_by text not null,
      last_scan_id text,
      first_at timestamptz(3) not null default now(),
      last_at timestamptz(3) not null default now(),
      updated_at timestamptz(3) not null default now(),
      primary key (event_id, exhibitor_id, ticket_code),
      unique (event_id, exhibitor_id, id),
      foreign key (event_id, exhibitor_id) references exhibitors (event_id, id) on delete cascade
    )`,
    // Paging in capture order: (first_at, id) is the cursor.
    `create index leads_page_idx on leads (event_id, exhibitor_id, first_at, id)`,
  ],
  down: ['drop table leads', 'drop table ticket_consents', 'drop table exhibitors', 'drop table sponsors'],
};
