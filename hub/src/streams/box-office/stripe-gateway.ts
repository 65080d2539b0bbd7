import type Stripe from 'stripe';
import type { StripeConfig } from '../../config.ts';

/**
 * The slice of Stripe the box office uses, through the official SDK: a PaymentIntent for the card reader, a hosted
 * Checkout page for the buyer's phone, cancelling what was not used, and refunds. Every call that creates something
 * carries an idempotency key derived from the sale, so a retry (the SDK's own, where Stripe says `Stripe-Should-Retry`,
 * or the cashier's) never charges or refunds twice.
 */
export interface PaymentGateway {
  createPaymentIntent(params: PaymentParams, idempotencyKey: string): Promise<{ id: string; clientSecret: string | null }>;
  createCheckoutSession(params: PaymentParams & { productName: string; quantity: number; unitAmount: number }, idempotencyKey: string): Promise<{ id: string; url: string | null }>;
  cancelPaymentIntent(id: string): Promise<void>;
  expireCheckoutSession(id: string): Promise<void>;
  refund(params: { paymentIntent: string; amount: number; metadata: Record<string, string> }, idempotencyKey: string): Promise<{ id: string; status: string | null }>;
}

export interface PaymentParams {
  amount: number;
  currency: string;
  description: string;
  email: string;
  metadata: Record<string, string>;
}

/** How a Stripe call went wrong, in words a cashier can act on. */
export class PaymentError extends Error {
  override readonly name = 'PaymentError';
  constructor(
    readonly kind: 'declined' | 'rate_limited' | 'unavailable' | 'refused' | 'conflict',
    message: string,
    /**
     * true when Stripe answered that nothing was done (a refusal, a decline); false when the outcome is unknown
     * (no answer, a 5xx after the SDK's retries): the operation may have happened.
     */
    readonly definite: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The SDK, loaded on first use: it is 80–140 ms of module loading, which a hub without `STRIPE_SECRET_KEY` (cash only,
 * and every test hub) never needs, and one with a key starts loading at once without waiting for it.
 */
let sdk: Promise<typeof Stripe> | undefined;
const loadSdk = (): Promise<typeof Stripe> => (sdk ??= import('stripe').then((module) => module.default));

/**
 * The SDK client for `config`, or undefined without `STRIPE_SECRET_KEY` (the box office then sells for cash only).
 * `STRIPE_API_URL` points it at another host (a local stand-in in tests): the SDK takes host, port and protocol.
 * @example const gateway = stripeGateway({ secretKey: 'sk_test_…', webhookSecret: undefined, apiUrl: undefined });
 */
export function stripeGateway(config: StripeConfig): PaymentGateway | undefined {
  if (!config.secretKey) return undefined;
  const api = config.apiUrl ? new URL(config.apiUrl) : undefined;
  const protocol = api?.protocol === 'http:' ? 'http' : 'https';
  const secretKey = config.secretKey;
  const client = loadSdk().then(
    (Sdk) =>
      new Sdk(secretKey, {
        // Retries honour `Stripe-Should-Retry` and reuse the request's idempotency key.
        maxNetworkRetries: 2,
        timeout: 20_000,
        telemetry: false,
        appInfo: { name: 'opshub box office' },
        ...(api ? { host: api.hostname, port: Number(api.port || (protocol === 'http' ? 80 : 443)), protocol } : {}),
      }),
  );
  // A failed load is reported by the first payment that needs it, not as an unhandled rejection at start.
  client.catch(() => {});
  const call = async <T>(what: string, fn: (stripe: Stripe) => Promise<T>): Promise<T> => {
    try {
      return await fn(await client);
    } catch (error) {
      throw toPaymentError(what, error);
    }
  };
  return {
    createPaymentIntent: (p, idempotencyKey) =>
      call('create the card payment', async (stripe) => {
        const intent = await stripe.paymentIntents.create(
          {
            amount: p.amount,
            currency: p.currency,
            description: p.description,
            metadata: p.metadata,
            // The card reader at the desk (Stripe Terminal) collects it with the client secret.
            allowed_payment_method_types: ['card_present'],
            capture_method: 'automatic',
            ...(p.email ? { receipt_email: p.email } : {}),
          },
          { idempotencyKey },
        );
        return { id: intent.id, clientSecret: intent.client_secret };
      }),
    createCheckoutSession: (p, idempotencyKey) =>
      call('create the phone payment page', async (stripe) => {
        const session = await stripe.checkout.sessions.create(
          {
            mode: 'payment',
            line_items: [{ quantity: p.quantity, price_data: { currency: p.currency, unit_amount: p.unitAmount, product_data: { name: p.productName } } }],
            client_reference_id: p.metadata.opshub_sale,
            metadata: p.metadata,
            // The PaymentIntent Checkout creates carries the same metadata, so either event settles the sale.
            payment_intent_data: { metadata: p.metadata, description: p.description },
            ...(p.email ? { customer_email: p.email } : {}),
          },
          { idempotencyKey },
        );
        return { id: session.id, url: session.url };
      }),
    cancelPaymentIntent: (id) => call('cancel the card payment', async (stripe) => void (await stripe.paymentIntents.cancel(id))),
    expireCheckoutSession: (id) => call('close the phone payment page', async (stripe) => void (await stripe.checkout.sessions.expire(id))),
    refund: (p, idempotencyKey) =>
      call('refund', async (stripe) => {
        const refund = await stripe.refunds.create({ payment_intent: p.paymentIntent, amount: p.amount, metadata: p.metadata, reason: 'requested_by_customer' }, { idempotencyKey });
        return { id: refund.id, status: refund.status };
      }),
  };
}

/** Turns an SDK error into words and a kind; the type names are the SDK's (`StripeCardError`, …). */
export function toPaymentError(what: string, error: unknown): PaymentError {
  const e = error as { type?: string; message?: string; code?: string; decline_code?: string; statusCode?: number };
  const said = e?.message ? `: ${e.message}` : '';
  switch (e?.type) {
    case 'StripeCardError':
      return new PaymentError('declined', `The card was declined${e.decline_code ? ` (${e.decline_code.replaceAll('_', ' ')})` : ''}${said}`, true, { cause: error });
    case 'StripeRateLimitError':
      return new PaymentError('rate_limited', `Stripe is limiting requests right now and did not ${what}; try again in a few seconds`, true, { cause: error });
    case 'StripeAuthenticationError':
    case 'StripePermissionError':
      return new PaymentError('unavailable', `Stripe refused the hub's secret key (STRIPE_SECRET_KEY)${said}. Card payments are unavailable; sell for cash`, true, { cause: error });
    case 'StripeInvalidRequestError':
    case 'StripeIdempotencyError':
      if (e.code === 'charge_already_refunded' || e.code === 'payment_intent_unexpected_state') return new PaymentError('conflict', `Stripe could not ${what}${said}`, true, { cause: error });
      return new PaymentError('refused', `Stripe refused to ${what}${said}`, true, { cause: error });
    case 'StripeConnectionError':
      return new PaymentError('unavailable', `Stripe could not be reached to ${what}; check the venue's internet connection, or sell for cash`, false, { cause: error });
    default:
      return new PaymentError('unavailable', `Stripe did not ${what}${said || ' (no answer)'}`, false, { cause: error });
  }
}

/** Checks a webhook's `Stripe-Signature` on the raw body and returns the event; throws when it is missing, forged or stale. */
export type WebhookVerifier = (rawBody: Buffer, signature: string, secret: string) => Stripe.Event;

/**
 * The SDK's webhook check (HMAC-SHA256 of `t.payload`, 300 s tolerance), once the SDK is loaded. Loading is apart from
 * checking so a caller can tell a server that cannot load the SDK (its fault) from a request that does not verify.
 * @example const verify = await webhookVerifier(); const event = verify(rawBody, req.header('stripe-signature'), config.webhookSecret);
 */
export async function webhookVerifier(): Promise<WebhookVerifier> {
  const Sdk = await loadSdk();
  return (rawBody, signature, secret) => Sdk.webhooks.constructEvent(rawBody, signature, secret, 300);
}
