/**
 * The box-office tables as kysely sees them; `migrations/0012-box-office.ts` creates exactly these. `Database` in
 * `db.ts` extends {@link BoxOfficeTables}. Type-only kysely imports, as in `db.ts`.
 *
 * Amounts are `bigint` minor units: node-postgres reads them as strings and PGlite as numbers, so repositories
 * read them through `Number()`.
 */
import type { ColumnType, Generated, GeneratedAlways, Selectable } from 'kysely';
import type { CreatedAt } from './db.ts';

type Money = ColumnType<string | number, string | number, string | number>;
type Millis3 = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableMillis3 = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface TicketTypesTable {
  event_id: string;
  id: string;
  name: string;
  price: Money;
  currency: string;
  zones: Generated<string[]>;
  /** the order the event lists them in */
  position: Generated<number>;
}

export interface BoxOfficeSalesTable {
  event_id: string;
  id: string;
  channel: 'cash' | 'card' | 'online';
  status: 'pending' | 'paid' | 'failed' | 'canceled';
  ticket_type: string;
  /** copied at sale time: a type renamed or removed later does not rewrite history */
  type_name: string;
  zones: Generated<string[]>;
  quantity: number;
  amount: Money;
  currency: string;
  holder: Generated<string>;
  email: Generated<string>;
  /** the Stripe PaymentIntent that paid (or is to pay) the sale; unique across events */
  payment_intent: string | null;
  checkout_session: string | null;
  checkout_url: string | null;
  failure: string | null;
  /** refunded so far (minor units); Stripe's cumulative `amount_refunded` never moves it back */
  refunded: Generated<Money>;
  created_by: string;
  created_at: Millis3;
  settled_at: NullableMillis3;
}

/** The tickets a sale issued (their roster rows carry the sale id as `order_code`) and which were refunded. */
export interface BoxOfficeTicketsTable {
  event_id: string;
  code: string;
  sale_id: string;
  position: number;
  refunded_at: NullableMillis3;
}

/** The revenue ledger: one row per settled sale and per refund; the summary and the topic's totals add these up. */
export interface RevenueEntriesTable {
  id: GeneratedAlways<string | number>;
  event_id: string;
  /** what makes the entry unique: `sale:{sale}`, `refund:{charge}:{cumulative}`, `cash-refund:{sale}:{codes}` */
  key: string;
  sale_id: string;
  kind: 'sale' | 'refund';
  channel: 'cash' | 'card' | 'online';
  ticket_type: string;
  tickets: number;
  amount: Money;
  currency: string;
  at: Millis3;
}

/** Stripe events already handled, by Stripe's event id: a replay finds its id here and changes nothing. */
export interface StripeEventsTable {
  id: string;
  type: string;
  event_id: string | null;
  outcome: string;
  received_at: CreatedAt;
}

export interface BoxOfficeTables {
  ticket_types: TicketTypesTable;
  box_office_sales: BoxOfficeSalesTable;
  box_office_tickets: BoxOfficeTicketsTable;
  revenue_entries: RevenueEntriesTable;
  stripe_events: StripeEventsTable;
}

export type SaleRow = Selectable<BoxOfficeSalesTable>;
export type TicketTypeRow = Selectable<TicketTypesTable>;
