import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { RevenueFigures, RevenueTotals, SaleChannel, SaleStatus, TicketType } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { SaleRow } from '@opshub/schema/db-box-office';
import { inTransaction } from './in-transaction.ts';
import { advisoryXactLock, lockSpace } from './locks.ts';

/**
 * The box office in the Store: ticket types, sales and the tickets they issued, the revenue ledger, and the Stripe
 * events already handled. Every write that moves money runs under {@link lockRevenue}, so the totals a revenue
 * message carries are exactly the ledger up to that message.
 */

/** A sale as the hub works with it (amounts as numbers, times as Dates). */
export interface SaleRecord {
  event: string;
  id: string;
  channel: SaleChannel;
  status: SaleStatus;
  ticketType: string;
  typeName: string;
  zones: string[];
  quantity: number;
  amount: number;
  currency: string;
  holder: string;
  email: string;
  paymentIntent: string | null;
  checkoutSession: string | null;
  checkoutUrl: string | null;
  failure: string | null;
  refunded: number;
  createdBy: string;
  createdAt: Date;
  settledAt: Date | null;
}

/** One issued ticket of a sale, with its roster status. */
export interface SaleTicketRecord {
  code: string;
  position: number;
  status: 'valid' | 'revoked';
  refundedAt: Date | null;
  holder: string;
  type: string;
  zones: string[];
}

/**
 * Takes the event's revenue lock for the rest of the transaction: box-office writes of one event take turns (door
 * sales are a few a second at most), so ledger order, message order and the totals in each message agree.
 * @example await db.transaction().execute(async (trx) => { await lockRevenue(trx, 'expo'); ... });
 */
export function lockRevenue(trx: Kysely<Database>, event: string): Promise<void> {
  return advisoryXactLock(trx, lockSpace.revenue, event, 'exclusive');
}

/**
 * Replaces the event's ticket types (already validated by `TicketTypes`), keeping the given order.
 * @example await putTicketTypes(db, 'expo', [{ id: 'day', name: 'Day pass', price: 4500, currency: 'eur', zones: [] }]);
 */
export async function putTicketTypes(db: Kysely<Database>, event: string, types: readonly TicketType[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('ticket_types').where('event_id', '=', event).execute();
    if (types.length === 0) return;
    await trx
      .insertInto('ticket_types')
      .values(types.map((t, position) => ({ event_id: event, id: t.id, name: t.name, price: t.price, currency: t.currency, zones: [...new Set(t.zones)], position })))
      .execute();
  });
}

/**
 * The event's ticket types in the order the event lists them.
 * @example const [day] = await listTicketTypes(db, 'expo'); // { id: 'day', name: 'Day pass', price: 4500, currency: 'eur', zones: [] }
 */
export async function listTicketTypes(db: Kysely<Database>, event: string): Promise<TicketType[]> {
  const rows = await db.selectFrom('ticket_types').selectAll().where('event_id', '=', event).orderBy('position').orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, price: Number(r.price), currency: r.currency, zones: r.zones }));
}

/** A sale id a cashier can read out: `S-` and eight letters and digits without look-alikes. */
export function newSaleId(): string {
  return `S-${readableCode(8)}`;
}

/** A box-office ticket code: `BO-` and ten letters and digits (the signed token carries it too). */
export function newTicketCode(): string {
  return `BO-${readableCode(10)}`;
}

const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
function readableCode(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

export interface NewSale {
  event: string;
  id: string;
  channel: SaleChannel;
  type: TicketType;
  quantity: number;
  amount: number;
  currency: string;
  holder: string;
  email: string;
  paymentIntent?: string | null;
  createdBy: string;
}

/**
 * Records a sale, pending until its payment settles. Returns null when `paymentIntent` already belongs to a sale
 * (another hub recorded it first: the caller then reads that one).
 */
export async function insertSale(db: Kysely<Database>, sale: NewSale): Promise<SaleRecord | null> {
  const row = await db
    .insertInto('box_office_sales')
    .values({
      event_id: sale.event,
      id: sale.id,
      channel: sale.channel,
      status: 'pending',
      ticket_type: sale.type.id,
      type_name: sale.type.name,
      zones: sale.type.zones,
      quantity: sale.quantity,
      amount: sale.amount,
      currency: sale.currency,
      holder: sale.holder,
      email: sale.email,
      payment_intent: sale.paymentIntent ?? null,
      created_by: sale.createdBy,
    })
    .onConflict((oc) => oc.column('payment_intent').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ? toSale(row) : null;
}

/** One sale, or null; `forUpdate` locks its row until the transaction ends. */
export async function getSale(db: Kysely<Database>, event: string, id: string, { forUpdate = false } = {}): Promise<SaleRecord | null> {
  let query = db.selectFrom('box_office_sales').selectAll().where('event_id', '=', event).where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toSale(row) : null;
}

/** The sale a PaymentIntent or Checkout Session belongs to, whichever event it is in. */
export async function findSaleByPayment(db: Kysely<Database>, ref: { paymentIntent?: string | null; checkoutSession?: string | null }, { forUpdate = false } = {}): Promise<SaleRecord | null> {
  const { paymentIntent, checkoutSession } = ref;
  if (!paymentIntent && !checkoutSession) return null;
  let query = db.selectFrom('box_office_sales').selectAll().where((eb) => {
    const terms = [];
    if (paymentIntent) terms.push(eb('payment_intent', '=', paymentIntent));
    if (checkoutSession) terms.push(eb('checkout_session', '=', checkoutSession));
    return eb.or(terms);
  });
  if (forUpdate) query = query.forUpdate();
  const row = await query.orderBy('created_at').executeTakeFirst();
  return row ? toSale(row) : null;
}

/**
 * Remembers the Stripe objects created for a sale. A PaymentIntent is set only while the sale has none: a payment that
 * settled the sale first (the phone's) is not overwritten by the reader's.
 */
export async function attachPayment(
  db: Kysely<Database>,
  event: string,
  id: string,
  payment: { paymentIntent?: string; checkoutSession?: string; checkoutUrl?: string | null },
): Promise<void> {
  if (payment.paymentIntent) {
    await db.updateTable('box_office_sales').set({ payment_intent: payment.paymentIntent }).where('event_id', '=', event).where('id', '=', id).where('payment_intent', 'is', null).execute();
  }
  if (payment.checkoutSession) {
    await db
      .updateTable('box_office_sales')
      .set({ checkout_session: payment.checkoutSession, checkout_url: payment.checkoutUrl ?? null })
      .where('event_id', '=', event)
      .where('id', '=', id)
      .execute();
  }
}

/** Marks an unpaid sale failed or canceled, with why; a paid sale is left alone. Returns whether it changed. */
export async function markUnpaid(db: Kysely<Database>, event: string, id: string, status: 'failed' | 'canceled', failure: string): Promise<boolean> {
  const rows = await db
    .updateTable('box_office_sales')
    .set({ status, failure: failure.slice(0, 500) })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'failed'])
    .returning('id')
    .execute();
  return rows.length > 0;
}

/**
 * Settles a sale: paid, its tickets in the roster (holder, email, the type's zones; `order_code` = the sale id), and
 * its ledger entry `sale:{id}`. Call under {@link lockRevenue} with the sale row locked and still unpaid. Returns
 * the ledger entry and the new ticket codes.
 */
export async function settleSale(
  trx: Kysely<Database>,
  sale: SaleRecord,
  payment: { paymentIntent: string | null; amount: number; currency: string; at: Date },
): Promise<{ entry: LedgerEntry; codes: string[] }> {
  const codes = Array.from({ length: sale.quantity }, newTicketCode);
  await trx
    .updateTable('box_office_sales')
    .set({ status: 'paid', settled_at: payment.at, amount: payment.amount, currency: payment.currency, failure: null, ...(payment.paymentIntent ? { payment_intent: payment.paymentIntent } : {}) })
    .where('event_id', '=', sale.event)
    .where('id', '=', sale.id)
    .execute();
  await trx
    .insertInto('tickets')
    .values(codes.map((code) => ({ event_id: sale.event, code, holder: sale.holder, email: sale.email, type: sale.ticketType, zones: sale.zones, order_code: sale.id })))
    .execute();
  await trx
    .insertInto('box_office_tickets')
    .values(codes.map((code, position) => ({ event_id: sale.event, code, sale_id: sale.id, position })))
    .execute();
  const entry = await insertLedgerEntry(trx, {
    event: sale.event,
    key: `sale:${sale.id}`,
    sale: sale.id,
    kind: 'sale',
    channel: sale.channel,
    ticketType: sale.ticketType,
    tickets: sale.quantity,
    amount: payment.amount,
    currency: payment.currency,
    at: payment.at,
  });
  if (!entry) throw new Error(`sale ${sale.id} of ${sale.event} has a ledger entry already`);
  return { entry, codes };
}

/** The tickets a sale issued, in issue order, with their roster status. */
export async function saleTickets(db: Kysely<Database>, event: string, saleId: string): Promise<SaleTicketRecord[]> {
  const rows = await db
    .selectFrom('box_office_tickets as b')
    .innerJoin('tickets as t', (join) => join.onRef('t.event_id', '=', 'b.event_id').onRef('t.code', '=', 'b.code'))
    .select(['b.code', 'b.position', 'b.refunded_at', 't.status', 't.holder', 't.type', 't.zones'])
    .where('b.event_id', '=', event)
    .where('b.sale_id', '=', saleId)
    .orderBy('b.position')
    .execute();
  return rows.map((r) => ({ code: r.code, position: r.position, status: r.status, refundedAt: r.refunded_at, holder: r.holder, type: r.type, zones: r.zones }));
}

/**
 * Marks these tickets of a sale refunded and revokes them in the roster (gates answer `revoked`). Codes already
 * refunded are skipped; returns the codes it changed.
 */
export async function refundTickets(db: Kysely<Database>, event: string, saleId: string, codes: readonly string[], at: Date): Promise<string[]> {
  if (codes.length === 0) return [];
  const rows = await db
    .updateTable('box_office_tickets')
    .set({ refunded_at: at })
    .where('event_id', '=', event)
    .where('sale_id', '=', saleId)
    .where('code', 'in', codes)
    .where('refunded_at', 'is', null)
    .returning('code')
    .execute();
  const changed = rows.map((r) => r.code);
  if (changed.length > 0) {
    await db.updateTable('tickets').set({ status: 'revoked', revoked_at: at, updated_at: sql<Date>`now()` }).where('event_id', '=', event).where('code', 'in', changed).execute();
  }
  return changed;
}

/** Undoes {@link refundTickets} for codes whose refund Stripe refused: they admit again. */
export async function restoreTickets(db: Kysely<Database>, event: string, saleId: string, codes: readonly string[]): Promise<void> {
  if (codes.length === 0) return;
  await db.updateTable('box_office_tickets').set({ refunded_at: null }).where('event_id', '=', event).where('sale_id', '=', saleId).where('code', 'in', codes).execute();
  await db.updateTable('tickets').set({ status: 'valid', revoked_at: null, updated_at: sql<Date>`now()` }).where('event_id', '=', event).where('code', 'in', codes).execute();
}

/** Moves a sale's refunded total forward (never back) and returns the new total. */
export async function setRefunded(db: Kysely<Database>, event: string, saleId: string, refunded: number): Promise<void> {
  await db
    .updateTable('box_office_sales')
    .set({ refunded: sql`greatest(refunded, ${refunded})` })
    .where('event_id', '=', event)
    .where('id', '=', saleId)
    .execute();
}

/** One row of the revenue ledger. */
export interface LedgerEntry {
  id: string;
  event: string;
  key: string;
  sale: string;
  kind: 'sale' | 'refund';
  channel: SaleChannel;
  ticketType: string;
  tickets: number;
  amount: number;
  currency: string;
  at: Date;
}

/** Adds a ledger entry once per `key`; null when the key is there already. */
export async function insertLedgerEntry(db: Kysely<Database>, entry: Omit<LedgerEntry, 'id'>): Promise<LedgerEntry | null> {
  const row = await db
    .insertInto('revenue_entries')
    .values({
      event_id: entry.event,
      key: entry.key,
      sale_id: entry.sale,
      kind: entry.kind,
      channel: entry.channel,
      ticket_type: entry.ticketType,
      tickets: entry.tickets,
      amount: entry.amount,
      currency: entry.currency,
      at: entry.at,
    })
    .onConflict((oc) => oc.columns(['event_id', 'key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row ? { ...entry, id: String(row.id) } : null;
}

/**
 * The event's sales, newest first.
 * @example const recent = await listSales(db, 'expo', { limit: 50 });
 */
export async function listSales(db: Kysely<Database>, event: string, { limit }: { limit: number }): Promise<SaleRecord[]> {
  const rows = await db.selectFrom('box_office_sales').selectAll().where('event_id', '=', event).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
  return rows.map(toSale);
}

/**
 * Records a Stripe event as handled; false when it was handled before (a replay). Call first in the transaction that
 * applies the event, so the record and its effects commit together.
 */
export async function recordStripeEvent(db: Kysely<Database>, event: { id: string; type: string; opshubEvent: string | null; outcome: string }): Promise<boolean> {
  const row = await db
    .insertInto('stripe_events')
    .values({ id: event.id, type: event.type, event_id: event.opshubEvent, outcome: event.outcome.slice(0, 200) })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Updates what a handled Stripe event came to (it is recorded before its effects are known). */
export async function setStripeEventOutcome(db: Kysely<Database>, id: string, outcome: string): Promise<void> {
  await db.updateTable('stripe_events').set({ outcome: outcome.slice(0, 200) }).where('id', '=', id).execute();
}

const zero = (): RevenueFigures => ({ gross: 0, refunds: 0, net: 0, sales: 0, tickets: 0, refundedTickets: 0 });

/**
 * The event's revenue, added up from the ledger: in the event's currency (its ticket types'), by ticket type and by
 * channel; entries in other currencies separately.
 * @example const { gross, refunds, net, byType } = await revenueTotals(db, 'expo');
 */
export async function revenueTotals(db: Kysely<Database>, event: string): Promise<RevenueTotals & { otherCurrencies: Record<string, RevenueFigures> }> {
  const [rows, types, names] = await Promise.all([
    db
      .selectFrom('revenue_entries')
      .select((eb) => [
        'currency',
        'channel',
        'ticket_type',
        'kind',
        eb.fn.sum<string | number>('amount').as('amount'),
        eb.fn.sum<string | number>('tickets').as('tickets'),
        eb.fn.countAll<string | number>().as('entries'),
      ])
      .where('event_id', '=', event)
      .groupBy(['currency', 'channel', 'ticket_type', 'kind'])
      .execute(),
    listTicketTypes(db, event),
    db.selectFrom('box_office_sales').select(['ticket_type', 'type_name']).distinct().where('event_id', '=', event).execute(),
  ]);
  const currency = types[0]?.currency ?? mostCommonCurrency(rows) ?? '';
  const nameOf = new Map<string, string>(names.map((n) => [n.ticket_type, n.type_name]));
  for (const t of types) nameOf.set(t.id, t.name);
  const totals: RevenueTotals = { currency, ...zero(), byType: {}, byChannel: {} };
  for (const t of types) totals.byType[t.id] = { name: t.name, ...zero() };
  const otherCurrencies: Record<string, RevenueFigures> = {};
  for (const r of rows) {
    const add = (f: RevenueFigures) => {
      if (r.kind === 'sale') {
        f.gross += Number(r.amount);
        f.sales += Number(r.entries);
        f.tickets += Number(r.tickets);
      } else {
        f.refunds += Number(r.amount);
        f.refundedTickets += Number(r.tickets);
      }
      f.net = f.gross - f.refunds;
    };
    if (r.currency !== currency) {
      add((otherCurrencies[r.currency] ??= zero()));
      continue;
    }
    add(totals);
    add((totals.byType[r.ticket_type] ??= { name: nameOf.get(r.ticket_type) ?? r.ticket_type, ...zero() }));
    add((totals.byChannel[r.channel] ??= zero()));
  }
  return { ...totals, otherCurrencies };
}

function mostCommonCurrency(rows: readonly { currency: string; entries: string | number }[]): string | undefined {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.currency, (counts.get(r.currency) ?? 0) + Number(r.entries));
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/**
 * Gross and refunds per minute in `currency` since `since`, oldest first (minutes without entries left out).
 * @example const series = await revenuePerMinute(db, 'expo', 'eur', new Date(Date.now() - 3_600_000));
 */
export async function revenuePerMinute(db: Kysely<Database>, event: string, currency: string, since: Date): Promise<{ at: number; gross: number; refunds: number }[]> {
  const minute = sql<string | number>`(extract(epoch from date_trunc('minute', at)) * 1000)::float8`;
  const rows = await db
    .selectFrom('revenue_entries')
    .select((eb) => [minute.as('minute'), 'kind', eb.fn.sum<string | number>('amount').as('amount')])
    .where('event_id', '=', event)
    .where('currency', '=', currency)
    .where('at', '>=', since)
    .groupBy([minute, 'kind'])
    .orderBy(minute)
    .execute();
  const byMinute = new Map<number, { at: number; gross: number; refunds: number }>();
  for (const r of rows) {
    const at = Number(r.minute);
    const bucket = byMinute.get(at) ?? { at, gross: 0, refunds: 0 };
    if (r.kind === 'sale') bucket.gross += Number(r.amount);
    else bucket.refunds += Number(r.amount);
    byMinute.set(at, bucket);
  }
  return [...byMinute.values()];
}

function toSale(row: SaleRow): SaleRecord {
  return {
    event: row.event_id,
    id: row.id,
    channel: row.channel,
    status: row.status,
    ticketType: row.ticket_type,
    typeName: row.type_name,
    zones: row.zones,
    quantity: row.quantity,
    amount: Number(row.amount),
    currency: row.currency,
    holder: row.holder,
    email: row.email,
    paymentIntent: row.payment_intent,
    checkoutSession: row.checkout_session,
    checkoutUrl: row.checkout_url,
    failure: row.failure,
    refunded: Number(row.refunded),
    createdBy: row.created_by,
    createdAt: row.created_at,
    settledAt: row.settled_at,
  };
}
