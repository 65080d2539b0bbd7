import type { SqlMigration } from './sql-migration.ts';

/**
 * The box office (issue 15): ticket types with prices, sales and the tickets they issued, the revenue ledger, and the
 * Stripe events already handled. Row types: `schema/src/db-box-office.ts`.
 *
 * The arbiters across hub processes are keys: a Stripe event id is handled once (`stripe_events`), a sale is settled
 * once (`revenue_entries (event_id, key)` with `sale:{id}`), a PaymentIntent belongs to one sale.
 */
export const boxOffice: SqlMigration = {
  up: [
    `create table ticket_types (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      name text not null,
      price bigint not null check (price >= 0),
      currency text not null check (currency ~ '^[a-z]{3}$'),
      zones text[] not null default '{}',
      position integer not null default 0,
      primary key (event_id, id)
    )`,
    `create table box_office_sales (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      channel text not null check (channel in ('cash', 'card', 'online')),
      status text not null check (status in ('pending', 'paid', 'failed', 'canceled')),
      ticket_type text not null,
      type_name text not null,
      zones text[] not null default '{}',
      quantity integer not null check (quantity between 1 and 100),
      amount bigint not null check (amount >= 0),
      currency text not null,
      holder text not null default '',
      email text not null default '',
      payment_intent text unique,
      checkout_session text unique,
      checkout_url text,
      failure text,
      refunded bigint not null default 0 check (refunded >= 0),
      created_by text not null,
      created_at timestamptz(3) not null default now(),
      settled_at timestamptz(3),
      primary key (event_id, id)
    )`,
    `create index box_office_sales_recent_idx on box_office_sales (event_id, created_at desc)`,
    `create table box_office_tickets (
      event_id text not null,
      code text collate "C" not null,
      sale_id text not null,
      position integer not null,
      refunded_at timestamptz(3),
      primary key (event_id, code),
      foreign key (event_id, sale_id) references box_office_sales (event_id, id) on delete cascade
    )`,
    `create index box_office_tickets_sale_idx on box_office_tickets (event_id, sale_id, position)`,
    `create table revenue_entries (
      id bigint generated always as identity primary key,
      event_id text not null references events (id) on delete cascade,
      key text not null,
      sale_id text not null,
      kind text not null check (kind in ('sale', 'refund')),
      channel text not null,
      ticket_type text not null,
      tickets integer not null check (tickets >= 0),
      amount bigint not null check (amount >= 0),
      currency text not null,
      at timestamptz(3) not null default now(),
      unique (event_id, key)
    )`,
    `create index revenue_entries_event_at_idx on revenue_entries (event_id, at)`,
    `create table stripe_events (
      id text primary key,
      type text not null,
      event_id text,
      outcome text not null,
      received_at timestamptz not null default now()
    )`,
    // Alert kinds grow with each capability (refunded_inside here); zod's AlertKind is the list, the table only
    // checks the shape, so one capability's migration never drops another's kind.
    `alter table alerts drop constraint if exists alerts_kind_check`,
    `alter table alerts add constraint alerts_kind_check check (kind ~ '^[a-z][a-z_]{0,39}$')`,
  ],
  down: [
    `alter table alerts drop constraint if exists alerts_kind_check`,
    `drop table stripe_events`,
    `drop table revenue_entries`,
    `drop table box_office_tickets`,
    `drop table box_office_sales`,
    `drop table ticket_types`,
  ],
};
