/**
 * The box office and live revenue (issue 15): ticket types with prices, door sales for cash or by card through
 * Stripe, refunds, the tickets of a payment, and the `event/{e}/revenue` messages. All amounts are integers in the
 * currency's minor unit (cents for EUR), as Stripe counts them.
 *
 * The box office is REST (see docs/api.md): a sale talks to Stripe, which may take seconds, and the cashier's page
 * wants an HTTP status for each outcome. The live side is the revenue topic.
 */
import { z } from 'zod';
import { Id } from '../claims.ts';

/** A three-letter ISO 4217 code, lower case as Stripe writes it (`EUR` is accepted and lowered). */
export const Currency = z
  .string()
  .trim()
  .regex(/^[A-Za-z]{3}$/, 'a three-letter currency code such as eur')
  .transform((c) => c.toLowerCase());

/** An amount in the currency's minor unit: at most 1,000,000.00 per ticket. */
export const MinorAmount = z.number().int().min(0).max(100_000_000);

/**
 * One ticket type of an event: `{"id","name","price","currency","zones"}`; a sale of it issues tickets for `zones`
 * (empty: every zone).
 * @example { id: 'day', name: 'Day pass', price: 4500, currency: 'eur', zones: ['hall'] }
 */
export const TicketType = z.strictObject({
  id: Id,
  name: z.string().trim().min(1).max(120),
  price: MinorAmount,
  currency: Currency,
  zones: z.array(Id).max(100).default([]),
});
export type TicketType = z.infer<typeof TicketType>;

/**
 * The ticket types of an event, as `POST /api/v1/events` and `PUT /api/v1/events/{e}/ticket-types` take them:
 * unique ids and one currency per event (the revenue summary adds them up).
 */
export const TicketTypes = z
  .array(TicketType)
  .max(50)
  .superRefine((types, ctx) => {
    const ids = new Set<string>();
    types.forEach((t, i) => {
      if (ids.has(t.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `ticket type id "${t.id}" is used twice` });
      ids.add(t.id);
      if (t.currency !== types[0]!.currency) {
        ctx.addIssue({ code: 'custom', path: [i, 'currency'], message: `every ticket type of an event has one currency (${types[0]!.currency}), not ${t.currency}` });
      }
    });
  });

/** `PUT /api/v1/events/{e}/ticket-types`: the whole list, replacing the previous one. */
export const PutTicketTypesBody = z.strictObject({ ticketTypes: TicketTypes });

export const SaleMethod = z.enum(['cash', 'card']);
export type SaleMethod = z.infer<typeof SaleMethod>;

/** Where a sale's money came from: the door in cash, the door by card (Stripe), or a Stripe payment made elsewhere. */
export const SaleChannel = z.enum(['cash', 'card', 'online']);
export type SaleChannel = z.infer<typeof SaleChannel>;

export const SaleStatus = z.enum(['pending', 'paid', 'failed', 'canceled']);
export type SaleStatus = z.infer<typeof SaleStatus>;

/** Tickets per sale: a family at the door, not a block booking. */
export const MAX_SALE_QUANTITY = 20;

/** `POST /api/v1/events/{e}/box-office/sales` (admin, staff). */
export const CreateSaleBody = z.strictObject({
  type: Id,
  quantity: z.number().int().min(1).max(MAX_SALE_QUANTITY).default(1),
  holder: z.string().trim().min(1, 'the holder’s name is needed on the ticket').max(200),
  email: z.union([z.literal(''), z.email().max(320)]).default(''),
  method: SaleMethod,
});
export type CreateSaleBody = z.infer<typeof CreateSaleBody>;

/** `POST /api/v1/events/{e}/box-office/sales/{sale}/refund`: the whole sale (what is left of it), or these tickets. */
export const RefundBody = z.strictObject({
  tickets: z.array(z.string().min(1).max(512)).min(1).max(MAX_SALE_QUANTITY).optional(),
  reason: z.string().trim().max(500).optional(),
});
export type RefundBody = z.infer<typeof RefundBody>;

/** One ticket of a sale: its roster code, whether it admits, and the signed offline-valid token printed on it. */
export const SaleTicket = z.object({
  code: z.string(),
  status: z.enum(['valid', 'revoked']),
  refunded: z.boolean(),
  /** a compact JWS the gates verify offline (`replica/src/signed-ticket.ts`); the QR code on the ticket */
  token: z.string().optional(),
});
export type SaleTicket = z.infer<typeof SaleTicket>;

/** A sale as the box office shows it. */
export const Sale = z.object({
  id: z.string(),
  event: Id,
  channel: SaleChannel,
  status: SaleStatus,
  type: z.string(),
  typeName: z.string(),
  quantity: z.number().int(),
  /** what was (or is to be) paid, minor units */
  amount: z.number().int(),
  currency: z.string(),
  /** refunded so far, minor units */
  refunded: z.number().int(),
  holder: z.string(),
  email: z.string(),
  paymentIntent: z.string().nullable(),
  /** a Stripe-hosted payment page for the buyer's phone (shown as a QR code) while the sale is pending */
  checkoutUrl: z.string().nullable(),
  /** why a card sale failed or was canceled, in words */
  failure: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.number(),
  settledAt: z.number().nullable(),
  tickets: z.array(SaleTicket),
});
export type Sale = z.infer<typeof Sale>;

/** Answer of `POST …/box-office/sales`: the sale, and for a card sale what the reader or phone needs. */
export const CreateSaleResult = Sale.extend({
  /** the PaymentIntent's client secret, for a card reader (Stripe Terminal) to collect the payment */
  clientSecret: z.string().nullable(),
  /** set when the phone page could not be created (the reader can still collect the PaymentIntent) */
  checkoutError: z.string().optional(),
});
export type CreateSaleResult = z.infer<typeof CreateSaleResult>;

/** `GET /api/v1/events/{e}/box-office`: what the box-office page needs before the first sale. */
export const BoxOfficeState = z.object({
  ticketTypes: z.array(TicketType),
  card: z.object({ available: z.boolean(), reason: z.string().optional() }),
  sales: z.array(Sale),
});
export type BoxOfficeState = z.infer<typeof BoxOfficeState>;

/** `GET /api/v1/events/{e}/box-office/payments/{paymentIntentId}` (contract). */
export const PaymentTickets = z.object({
  tickets: z.array(z.object({ code: z.string(), status: z.enum(['valid', 'revoked']), token: z.string().optional() })),
  sale: z.string(),
  status: SaleStatus,
});
export type PaymentTickets = z.infer<typeof PaymentTickets>;

/** Money figures: what was taken, what was given back, what is left; sales and tickets counted. */
export const RevenueFigures = z.object({
  gross: z.number().int(),
  refunds: z.number().int(),
  net: z.number().int(),
  /** settled sales */
  sales: z.number().int(),
  /** tickets issued by settled sales, and how many of those were refunded */
  tickets: z.number().int(),
  refundedTickets: z.number().int(),
});
export type RevenueFigures = z.infer<typeof RevenueFigures>;

/** The totals of an event's revenue in its currency, by ticket type and by channel. */
export const RevenueTotals = RevenueFigures.extend({
  currency: z.string(),
  byType: z.record(z.string(), RevenueFigures.extend({ name: z.string() })),
  byChannel: z.record(z.string(), RevenueFigures),
});
export type RevenueTotals = z.infer<typeof RevenueTotals>;

/** One minute of revenue, for the control room's chart. */
export const RevenueMinute = z.object({ at: z.number(), gross: z.number().int(), refunds: z.number().int() });

/**
 * `GET /api/v1/events/{e}/revenue/summary` (contract: `currency`, `gross`, `refunds`, `net`, `sales`, `byType`).
 * `seq` is the head of `event/{e}/revenue` these totals include (read under the event's revenue lock), so a client
 * applies exactly the messages after it. Payments in a currency other than the event's are not added in: they are
 * listed under `otherCurrencies`.
 */
export const RevenueSummary = RevenueTotals.extend({
  perMinute: z.array(RevenueMinute),
  otherCurrencies: z.record(z.string(), RevenueFigures),
  seq: z.number().int(),
  epoch: z.string().optional(),
});
export type RevenueSummary = z.infer<typeof RevenueSummary>;

/**
 * `event/{e}/revenue`: one settled sale or refund, with the event's totals right after it (so the newest message is
 * the state, as on the capacity topic).
 */
export const RevenueMessage = z.object({
  kind: z.enum(['sale', 'refund']),
  /** the ledger entry, unique per event */
  id: z.string(),
  at: z.number(),
  sale: z.string(),
  channel: SaleChannel,
  type: z.string(),
  /** tickets sold, or refunded */
  tickets: z.number().int(),
  /** minor units, always positive: a refund's amount is what was given back */
  amount: z.number().int(),
  currency: z.string(),
  totals: RevenueTotals,
});
export type RevenueMessage = z.infer<typeof RevenueMessage>;

/**
 * The metadata keys a Stripe payment carries to become opshub tickets: set them on a PaymentIntent (or a Checkout
 * Session's `payment_intent_data.metadata`) anywhere (the box office, a payment link, an online shop) and its
 * success issues the tickets. `opshub_sale` is set by the box office only.
 */
export const stripeMetadataKeys = {
  event: 'opshub_event',
  ticketType: 'opshub_ticket_type',
  holder: 'opshub_holder',
  email: 'opshub_email',
  quantity: 'opshub_quantity',
  sale: 'opshub_sale',
} as const;
