import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import { CreateSaleBody, Id, PutTicketTypesBody, RefundBody, topicName, type BoxOfficeState, type PaymentTickets, type RevenueSummary } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { Bus } from '../bus/bus.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { findSaleByPayment, listSales, listTicketTypes, lockRevenue, putTicketTypes, revenuePerMinute, revenueTotals } from '../store/repos/box-office-repo.ts';
import { eventExists, getEvent } from '../store/repos/events-repo.ts';
import type { Store } from '../store/store.ts';
import type { BoxOfficeStream } from '../streams/box-office/box-office-stream.ts';
import { webhookVerifier } from '../streams/box-office/stripe-gateway.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/** How far back the summary's per-minute series reaches. */
const PER_MINUTE_WINDOW_MS = 3 * 60 * 60 * 1000;
/** Stripe's events are a few kB; a snapshot of a big Checkout Session stays far below this. */
const WEBHOOK_BODY_LIMIT = 512 * 1024;

/** The envelope every Stripe event has; what the box office reads inside is checked by `stripe-events.ts`. */
const StripeEventEnvelope = z.looseObject({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(100),
  data: z.looseObject({ object: z.unknown() }),
});

/**
 * The box office and revenue over REST (admin and staff; money is never shown to other roles):
 * - `GET /api/v1/events/{e}/box-office`: ticket types, whether card payments are available (and why not), recent sales;
 * - `PUT /api/v1/events/{e}/ticket-types`: replaces the event's ticket types (audited);
 * - `POST /api/v1/events/{e}/box-office/sales`: a door sale, cash or card; `GET …/sales/{sale}`;
 *   `POST …/sales/{sale}/refund` (the sale or some tickets), `POST …/sales/{sale}/cancel` (an unpaid card sale);
 * - `GET /api/v1/events/{e}/box-office/payments/{paymentIntentId}` → `{"tickets":[{"code","status"}]}`;
 * - `GET /api/v1/events/{e}/revenue/summary`;
 * - `POST /api/v1/stripe/webhook`: Stripe's events, signature checked on the raw body (no token: Stripe signs).
 */
export function registerBoxOfficeRoutes(
  app: TemplatedApp,
  deps: { store: Store; bus: Bus; verifier: TokenVerifier; log: Logger; boxOffice: BoxOfficeStream; webhookSecret: string | undefined; onStatus?: (status: number) => void },
): void {
  const { store, bus, verifier, boxOffice } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  /** Authenticated as admin or staff of the event in the path, which exists. */
  async function cashier(req: Request) {
    const claims = await authenticate(verifier, req);
    const event = pathId(req, 0, 'event');
    requireAccess(claims, event, ['admin', 'staff']);
    if (!(await eventExists(store.db, event))) throw new ClientError('not_found', `event "${event}" not found`);
    return { claims, event };
  }

  async function parse<T extends z.ZodType>(req: Request, schema: T): Promise<z.infer<T>> {
    const parsed = schema.safeParse(await jsonBody(req));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    return parsed.data;
  }

  route(app, 'get', '/api/v1/events/:e/box-office', options, async (req) => {
    const { event } = await cashier(req);
    const limit = Math.min(200, Math.max(1, Number(req.query.get('limit') ?? 50) || 50));
    const [ticketTypes, sales] = await Promise.all([listTicketTypes(store.db, event), listSales(store.db, event, { limit })]);
    const body: BoxOfficeState = { ticketTypes, card: boxOffice.cardAvailability(), sales: await Promise.all(sales.map((s) => boxOffice.view(s))) };
    return { status: 200, body };
  });

  route(app, 'put', '/api/v1/events/:e/ticket-types', options, async (req) => {
    const { claims, event } = await cashier(req);
    const { ticketTypes } = await parse(req, PutTicketTypesBody);
    const details = (await getEvent(store.db, event))!;
    const zones = new Set(details.zones.map((z) => z.id));
    ticketTypes.forEach((t, i) => {
      const unknown = t.zones.filter((z) => !zones.has(z));
      if (unknown.length > 0) throw new ClientError('invalid', `ticketTypes.${i}.zones: unknown zone ${unknown.map((z) => `"${z}"`).join(', ')}`);
    });
    await store.db.transaction().execute(async (trx) => {
      await putTicketTypes(trx, event, ticketTypes);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'ticket_types.update', event, target: event, before: details.ticketTypes, after: ticketTypes });
    });
    return { status: 200, body: { ticketTypes: await listTicketTypes(store.db, event) } };
  });

  route(app, 'post', '/api/v1/events/:e/box-office/sales', options, async (req) => {
    const { claims, event } = await cashier(req);
    const body = await parse(req, CreateSaleBody);
    return { status: 201, body: await boxOffice.sell(claims, event, body) };
  });

  route(app, 'get', '/api/v1/events/:e/box-office/sales/:sale', options, async (req) => {
    const { event } = await cashier(req);
    const sale = await boxOffice.requireSale(event, pathId(req, 1, 'sale'));
    return { status: 200, body: await boxOffice.view(sale, { tokens: true }) };
  });

  route(app, 'post', '/api/v1/events/:e/box-office/sales/:sale/refund', options, async (req) => {
    const { claims, event } = await cashier(req);
    const sale = pathId(req, 1, 'sale');
    const body = await parse(req, RefundBody);
    return { status: 200, body: await boxOffice.refund(claims, event, sale, body) };
  });

  route(app, 'post', '/api/v1/events/:e/box-office/sales/:sale/cancel', options, async (req) => {
    const { claims, event } = await cashier(req);
    return { status: 200, body: await boxOffice.cancel(claims, event, pathId(req, 1, 'sale')) };
  });

  route(app, 'get', '/api/v1/events/:e/box-office/payments/:pi', options, async (req) => {
    const { event } = await cashier(req);
    const paymentIntent = req.params[1] ?? '';
    if (!/^[A-Za-z0-9_]{1,255}$/.test(paymentIntent)) throw new ClientError('invalid', `"${paymentIntent}" is not a payment intent id`);
    const sale = await findSaleByPayment(store.db, { paymentIntent });
    if (!sale || sale.event !== event) throw new ClientError('not_found', `no sale of event "${event}" has payment ${paymentIntent}`);
    const view = await boxOffice.view(sale, { tokens: true });
    const body: PaymentTickets = { tickets: view.tickets.map((t) => ({ code: t.code, status: t.status, ...(t.token ? { token: t.token } : {}) })), sale: sale.id, status: sale.status };
    return { status: 200, body };
  });

  route(app, 'get', '/api/v1/events/:e/revenue/summary', options, async (req) => {
    const { event } = await cashier(req);
    // Read under the event's revenue lock: no box-office write is in flight (each publishes before it commits), so
    // the totals are exactly the messages up to `seq`.
    const { totals, seq } = await store.db.transaction().execute(async (trx) => {
      await lockRevenue(trx, event);
      const head = await bus.head(topicName({ kind: 'revenue', event }));
      return { totals: await revenueTotals(trx, event), seq: head };
    });
    const perMinute = await revenuePerMinute(store.db, event, totals.currency, new Date(Date.now() - PER_MINUTE_WINDOW_MS));
    const body: RevenueSummary = { ...totals, perMinute, seq, epoch: bus.epoch() };
    return { status: 200, body };
  });

  route(app, 'post', '/api/v1/stripe/webhook', { ...options, bodyLimit: WEBHOOK_BODY_LIMIT }, async (req) => {
    const signature = req.header('stripe-signature');
    const raw = await req.body();
    if (!deps.webhookSecret) throw new ClientError('unavailable', 'STRIPE_WEBHOOK_SECRET is not set on the hub: Stripe events cannot be verified, so none is accepted');
    if (!signature) throw new ClientError('invalid', 'no Stripe-Signature header: only events signed by Stripe are accepted');
    // Outside the try: an SDK that fails to load is the hub's fault (500), not a signature that does not verify.
    const verify = await webhookVerifier();
    let event: z.infer<typeof StripeEventEnvelope>;
    try {
      event = StripeEventEnvelope.parse(verify(raw, signature, deps.webhookSecret));
    } catch (error) {
      throw new ClientError('invalid', `the Stripe signature does not verify (wrong secret, altered body, or a timestamp outside 300 s): ${error instanceof Error ? error.message : String(error)}`);
    }
    const result = await boxOffice.handleStripeEvent(event as never);
    return { status: 200, body: { received: true, ...result } };
  });
}

function pathId(req: Request, index: number, what: string): string {
  const id = req.params[index] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid ${what} id`);
  return id;
}
