import { z } from 'zod';
import { CreateSaleBody, Id, MAX_SALE_QUANTITY, stripeMetadataKeys as keys } from '@opshub/schema';

/**
 * What a verified Stripe event means for the box office, read with zod (a signed event is authentic, not necessarily
 * shaped as we expect). Only the fields used are checked; Stripe adds fields freely.
 */
export type PaymentFact =
  | { kind: 'paid'; paymentIntent: string | null; checkoutSession: string | null; amount: number; currency: string; order: OrderRef }
  | { kind: 'unpaid'; status: 'failed' | 'canceled'; paymentIntent: string; reason: string; order: OrderRef }
  | { kind: 'refunded'; charge: string; paymentIntent: string; amountRefunded: number; fullyRefunded: boolean }
  | { kind: 'ignored'; reason: string };

/**
 * Which sale a payment is for: the box office's own (`opshub_sale`), or an order described by metadata alone (a
 * payment made outside the box office: a payment link, an online shop).
 */
export interface OrderRef {
  event: string | undefined;
  sale: string | undefined;
  /** the order from the metadata, when it names a valid one; otherwise why not */
  order: { type: string; quantity: number; holder: string; email: string } | { problem: string };
}

const Metadata = z.record(z.string(), z.string()).nullish().transform((m) => m ?? {});

const PaymentIntentObject = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('payment_intent'),
  amount: z.number().int().min(0),
  amount_received: z.number().int().min(0).nullish(),
  currency: z.string().min(3).max(3),
  metadata: Metadata,
  last_payment_error: z.looseObject({ message: z.string().nullish(), code: z.string().nullish(), decline_code: z.string().nullish() }).nullish(),
  cancellation_reason: z.string().nullish(),
});

const CheckoutSessionObject = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('checkout.session'),
  payment_status: z.string(),
  payment_intent: z.union([z.string(), z.looseObject({ id: z.string() })]).nullish(),
  amount_total: z.number().int().min(0).nullish(),
  currency: z.string().min(3).max(3).nullish(),
  client_reference_id: z.string().nullish(),
  metadata: Metadata,
});

const ChargeObject = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('charge'),
  payment_intent: z.union([z.string(), z.looseObject({ id: z.string() })]).nullish(),
  amount_refunded: z.number().int().min(0),
  refunded: z.boolean(),
});

const MetadataOrder = z.object({
  type: Id,
  quantity: z.coerce.number().int().min(1).max(MAX_SALE_QUANTITY * 5),
  holder: CreateSaleBody.shape.holder,
  email: CreateSaleBody.shape.email,
});

/**
 * Reads a verified event.
 * @example const fact = paymentFact(Stripe.webhooks.constructEvent(raw, header, secret));
 */
export function paymentFact(event: { type: string; data: { object: unknown } }): PaymentFact {
  switch (event.type) {
    case 'payment_intent.succeeded': {
      const pi = PaymentIntentObject.safeParse(event.data.object);
      if (!pi.success) return malformed(event.type, pi.error);
      return {
        kind: 'paid',
        paymentIntent: pi.data.id,
        checkoutSession: null,
        amount: pi.data.amount_received ?? pi.data.amount,
        currency: pi.data.currency.toLowerCase(),
        order: orderRef(pi.data.metadata),
      };
    }
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = CheckoutSessionObject.safeParse(event.data.object);
      if (!session.success) return malformed(event.type, session.error);
      const s = session.data;
      // A delayed payment method completes the session unpaid; its async_payment_succeeded settles it later.
      if (s.payment_status !== 'paid' && s.payment_status !== 'no_payment_required') return { kind: 'ignored', reason: `checkout session ${s.id} is ${s.payment_status}` };
      const metadata = { ...s.metadata };
      if (!metadata[keys.sale] && s.client_reference_id) metadata[keys.sale] = s.client_reference_id;
      return {
        kind: 'paid',
        paymentIntent: typeof s.payment_intent === 'string' ? s.payment_intent : (s.payment_intent?.id ?? null),
        checkoutSession: s.id,
        amount: s.amount_total ?? 0,
        currency: (s.currency ?? '').toLowerCase(),
        order: orderRef(metadata),
      };
    }
    case 'payment_intent.payment_failed':
    case 'payment_intent.canceled': {
      const pi = PaymentIntentObject.safeParse(event.data.object);
      if (!pi.success) return malformed(event.type, pi.error);
      const failed = event.type === 'payment_intent.payment_failed';
      const error = pi.data.last_payment_error;
      const reason = failed
        ? `The payment failed${error?.decline_code ? ` (${error.decline_code.replaceAll('_', ' ')})` : ''}${error?.message ? `: ${error.message}` : ''}`
        : `The payment was canceled${pi.data.cancellation_reason ? ` (${pi.data.cancellation_reason.replaceAll('_', ' ')})` : ''}`;
      return { kind: 'unpaid', status: failed ? 'failed' : 'canceled', paymentIntent: pi.data.id, reason, order: orderRef(pi.data.metadata) };
    }
    case 'charge.refunded': {
      const charge = ChargeObject.safeParse(event.data.object);
      if (!charge.success) return malformed(event.type, charge.error);
      const c = charge.data;
      const paymentIntent = typeof c.payment_intent === 'string' ? c.payment_intent : c.payment_intent?.id;
      if (!paymentIntent) return { kind: 'ignored', reason: `charge ${c.id} has no payment intent` };
      return { kind: 'refunded', charge: c.id, paymentIntent, amountRefunded: c.amount_refunded, fullyRefunded: c.refunded };
    }
    default:
      return { kind: 'ignored', reason: `${event.type} is not handled` };
  }
}

function orderRef(metadata: Record<string, string>): OrderRef {
  const event = Id.safeParse(metadata[keys.event]);
  const sale = Id.safeParse(metadata[keys.sale]);
  const order = MetadataOrder.safeParse({
    type: metadata[keys.ticketType],
    quantity: metadata[keys.quantity] ?? '1',
    holder: metadata[keys.holder] ?? '',
    email: metadata[keys.email] ?? '',
  });
  return {
    event: event.success ? event.data : undefined,
    sale: sale.success ? sale.data : undefined,
    order: order.success
      ? order.data
      : { problem: order.error.issues.map((i) => `${[keys.ticketType, keys.quantity, keys.holder, keys.email][['type', 'quantity', 'holder', 'email'].indexOf(String(i.path[0]))] ?? i.path.join('.')}: ${i.message}`).join('; ') },
  };
}

function malformed(type: string, error: z.ZodError): PaymentFact {
  return { kind: 'ignored', reason: `${type} payload is not what Stripe sends: ${error.issues[0]?.path.join('.')} ${error.issues[0]?.message}` };
}
