/**
 * The box office against a real hub (uWS, PGlite, the in-process bus) whose official `stripe` SDK talks to a local
 * stand-in speaking Stripe's wire format; webhooks are signed as Stripe signs them. What crosses the wire is checked.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevenueMessage, RevenueSummary, type CreateSaleResult, type PaymentTickets, type Sale } from '@opshub/schema';
import { listAudit } from '../../src/store/repos/audit-log.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { StripeStandIn } from '../support/stripe-stand-in.ts';
import { TestClient } from '../support/ws-client.ts';

const staff = { role: 'staff' as const, events: ['expo'], sub: 'cashier-1' };
let hub: TestHub;
let stripe: StripeStandIn;
let watcher: TestClient;

const event = {
  id: 'expo',
  name: 'Expo 2026',
  zones: [
    { id: 'hall', name: 'Main hall', capacity: 500 },
    { id: 'vip', name: 'VIP lounge', capacity: 50 },
  ],
  gates: [{ id: 'north', name: 'North gate', zone: 'hall' }],
  ticketTypes: [
    { id: 'day', name: 'Day pass', price: 4500, currency: 'eur', zones: ['hall'] },
    { id: 'vip', name: 'VIP', price: 12000, currency: 'eur', zones: [] },
  ],
};

async function call<T>(method: string, path: string, body?: unknown, claims: NonNullable<Parameters<TestHub['api']>[1]>['claims'] = staff): Promise<{ status: number; body: T }> {
  const res = await hub.api(path, { method, claims, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, body: (await res.json()) as T };
}
const sell = (body: Record<string, unknown>) => call<CreateSaleResult>('POST', '/api/v1/events/expo/box-office/sales', body);
const summary = async () => RevenueSummary.parse((await call('GET', '/api/v1/events/expo/revenue/summary')).body);
const revenue = () => watcher.messages('event/expo/revenue').map((f) => RevenueMessage.parse(f.data));
const count = async (table: 'stripe_events' | 'box_office_tickets' | 'revenue_entries') =>
  Number((await hub.backends.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

beforeAll(async () => {
  stripe = await StripeStandIn.start({ secretKey: 'sk_test_boxoffice', webhookSecret: 'whsec_boxoffice' });
  hub = await startTestHub({ stripe: stripe.config });
  stripe.webhookUrls = [`${hub.httpUrl}/api/v1/stripe/webhook`];
  expect((await call('POST', '/api/v1/events', event, { role: 'admin', events: ['*'] })).status).toBe(201);
  watcher = await TestClient.connect(hub.wsUrl, await hub.token(staff));
  await watcher.subscribe('event/expo/revenue');
}, 60_000);
afterAll(async () => {
  await watcher?.close();
  await hub?.close();
  await stripe?.close();
});

describe('ticket types', () => {
  it('are part of the event, priced in minor units, and only admins and staff change them', async () => {
    const got = await call<{ ticketTypes: unknown[] }>('GET', '/api/v1/events/expo', undefined, { role: 'gate', events: ['expo'] });
    expect(got.body.ticketTypes).toEqual(event.ticketTypes);
    expect((await call('PUT', '/api/v1/events/expo/ticket-types', { ticketTypes: [] }, { role: 'moderator', events: ['expo'] })).status).toBe(403);
    const moon = await call<{ message: string }>('PUT', '/api/v1/events/expo/ticket-types', { ticketTypes: [{ ...event.ticketTypes[0], zones: ['moon'] }] });
    expect(moon).toMatchObject({ status: 400, body: { message: expect.stringContaining('moon') } });
    const student = { id: 'student', name: 'Student', price: 1500, currency: 'EUR', zones: ['hall'] };
    const put = await call<{ ticketTypes: unknown[] }>('PUT', '/api/v1/events/expo/ticket-types', { ticketTypes: [...event.ticketTypes, student] });
    expect(put.body.ticketTypes).toEqual([...event.ticketTypes, { ...student, currency: 'eur' }]);
  });
});

describe('a cash sale', () => {
  it('issues signed tickets at once, publishes the revenue, and is audited', async () => {
    const before = revenue().length;
    const sale = await sell({ type: 'day', quantity: 2, holder: 'Ana Lima', email: 'ana@example.org', method: 'cash' });
    expect(sale.status).toBe(201);
    expect(sale.body).toMatchObject({ status: 'paid', channel: 'cash', amount: 9000, currency: 'eur', quantity: 2, holder: 'Ana Lima', clientSecret: null });
    expect(sale.body.tickets).toHaveLength(2);
    for (const t of sale.body.tickets) expect(t).toMatchObject({ status: 'valid', refunded: false, token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    const roster = await hub.backends.store.db.selectFrom('tickets').selectAll().where('order_code', '=', sale.body.id).execute();
    expect(roster.map((r) => [r.holder, r.email, r.zones])).toEqual([['Ana Lima', 'ana@example.org', ['hall']], ['Ana Lima', 'ana@example.org', ['hall']]]);
    const message = await watcher.next((f) => f.op === 'msg' && (f.data as RevenueMessage).sale === sale.body.id);
    expect(message.data).toMatchObject({ kind: 'sale', channel: 'cash', amount: 9000, tickets: 2, totals: { gross: 9000, net: 9000, sales: 1 } });
    expect(revenue().length).toBe(before + 1);
    expect((await listAudit(hub.backends.store.db, { event: 'expo' })).find((a) => a.target === sale.body.id)).toMatchObject({ action: 'sale.cash', actor: 'cashier-1' });
    expect(stripe.requests).toHaveLength(0);
  });

  it('refuses what is wrong in words, and other roles', async () => {
    expect((await sell({ type: 'nope', holder: 'X', method: 'cash' })).body).toMatchObject({ error: 'invalid', message: expect.stringContaining('no ticket type "nope"') });
    expect((await sell({ type: 'day', quantity: 0, holder: 'X', method: 'cash' })).status).toBe(400);
    expect((await sell({ type: 'day', holder: '', method: 'cash' })).body).toMatchObject({ message: expect.stringContaining('holder') });
    const gate = await call('POST', '/api/v1/events/expo/box-office/sales', { type: 'day', holder: 'X', method: 'cash' }, { role: 'gate', events: ['expo'] });
    expect(gate.status).toBe(403);
    expect((await call('GET', '/api/v1/events/expo/revenue/summary', undefined, { role: 'sponsor', events: ['expo'] })).status).toBe(403);
  });
});

describe('a card sale through Stripe', () => {
  let sale: CreateSaleResult;

  it('creates a PaymentIntent and a hosted page with the SDK, form-encoded, with idempotency keys and opshub metadata', async () => {
    const res = await sell({ type: 'vip', quantity: 1, holder: 'Bo Chen', email: 'bo@example.org', method: 'card' });
    expect(res.status).toBe(201);
    sale = res.body;
    expect(sale).toMatchObject({ status: 'pending', channel: 'card', amount: 12000, tickets: [], paymentIntent: expect.stringMatching(/^pi_/), clientSecret: expect.stringContaining('_secret_') });
    expect(sale.checkoutUrl).toMatch(new RegExp(`^${stripe.url}/pay/cs_test_`));
    const [pi, cs] = stripe.requests.slice(-2);
    expect(pi).toMatchObject({ method: 'POST', path: '/v1/payment_intents', contentType: 'application/x-www-form-urlencoded', authorization: 'Bearer sk_test_boxoffice', idempotencyKey: `opshub:expo:${sale.id}:payment-intent` });
    expect(pi!.params).toMatchObject({
      amount: '12000',
      currency: 'eur',
      allowed_payment_method_types: ['card_present'],
      metadata: { opshub_event: 'expo', opshub_ticket_type: 'vip', opshub_holder: 'Bo Chen', opshub_email: 'bo@example.org', opshub_quantity: '1', opshub_sale: sale.id },
    });
    expect(cs).toMatchObject({ path: '/v1/checkout/sessions', idempotencyKey: `opshub:expo:${sale.id}:checkout` });
    expect(cs!.params).toMatchObject({ mode: 'payment', client_reference_id: sale.id, line_items: [{ quantity: '1', price_data: { currency: 'eur', unit_amount: '12000' } }], payment_intent_data: { metadata: { opshub_sale: sale.id } } });
    const payment = await call<PaymentTickets>('GET', `/api/v1/events/expo/box-office/payments/${sale.paymentIntent}`);
    expect(payment.body).toEqual({ tickets: [], sale: sale.id, status: 'pending' });
  });

  it('issues its ticket once when Stripe confirms, however often the event is delivered, and by either event', async () => {
    const before = { revenue: revenue().length, entries: await count('revenue_entries') };
    stripe.autoDeliver = false;
    const succeeded = await stripe.succeed(sale.paymentIntent!);
    stripe.autoDeliver = true;
    const answers = await Promise.all(Array.from({ length: 10 }, () => stripe.deliver(succeeded)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(answers.filter((a) => a.body.includes('settled')).length).toBe(1);
    // The same sale confirmed by the other route (the Checkout Session's event) issues nothing more.
    const completed = stripe.event('checkout.session.completed', { id: 'cs_test_other', object: 'checkout.session', payment_status: 'paid', payment_intent: sale.paymentIntent, amount_total: 12000, currency: 'eur', client_reference_id: sale.id, metadata: { opshub_sale: sale.id, opshub_event: 'expo' } });
    expect((await stripe.deliver(completed)).body).toContain('settled already');

    const payment = await call<PaymentTickets>('GET', `/api/v1/events/expo/box-office/payments/${sale.paymentIntent}`);
    expect(payment.body.tickets).toEqual([{ code: expect.stringMatching(/^BO-/), status: 'valid', token: expect.any(String) }]);
    await watcher.next((f) => f.op === 'msg' && (f.data as RevenueMessage).sale === sale.id);
    expect(revenue().length - before.revenue).toBe(1);
    expect((await count('revenue_entries')) - before.entries).toBe(1);
    // The phone page the buyer did not use is closed.
    await expect.poll(() => stripe.sessions.get(new URL(sale.checkoutUrl!).pathname.split('/').pop()!)?.status).toBe('expired');
  });

  it('answers 400 and writes nothing for a bad signature, a stale timestamp or no signature', async () => {
    const pending = (await sell({ type: 'day', quantity: 1, holder: 'Cy', method: 'card' })).body;
    stripe.autoDeliver = false;
    const succeeded = await stripe.succeed(pending.paymentIntent!);
    stripe.autoDeliver = true;
    const before = { events: await count('stripe_events'), tickets: await count('box_office_tickets'), revenue: revenue().length };
    const forged = await stripe.deliver(succeeded, { secret: 'whsec_not_the_hubs' });
    const stale = await stripe.deliver(succeeded, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    const unsigned = await stripe.deliver(succeeded, false);
    const tampered = await fetch(stripe.webhookUrls[0]!, {
      method: 'POST',
      headers: { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: JSON.stringify(succeeded), secret: 'whsec_boxoffice' }) },
      body: JSON.stringify({ ...succeeded, data: { object: { ...succeeded.data.object, amount_received: 1 } } }),
    });
    for (const r of [forged, stale, unsigned, { status: tampered.status, body: await tampered.text() }]) {
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'invalid' });
    }
    expect({ events: await count('stripe_events'), tickets: await count('box_office_tickets'), revenue: revenue().length }).toEqual(before);
    // Properly signed, it settles.
    expect((await stripe.deliver(succeeded)).body).toContain('settled');
  });

  it('shows a decline in words and issues nothing; a payment taken later still settles the sale', async () => {
    const pending = (await sell({ type: 'day', quantity: 1, holder: 'Dee', method: 'card' })).body;
    await stripe.decline(pending.paymentIntent!);
    const failed = await call<Sale>('GET', `/api/v1/events/expo/box-office/sales/${pending.id}`);
    expect(failed.body).toMatchObject({ status: 'failed', tickets: [], failure: 'The payment failed (insufficient funds): Your card has insufficient funds.' });
    await stripe.succeed(pending.paymentIntent!);
    expect((await call<Sale>('GET', `/api/v1/events/expo/box-office/sales/${pending.id}`)).body).toMatchObject({ status: 'paid', tickets: [{ status: 'valid' }] });
  });

  it('retries where Stripe says so with the same idempotency key, and says in words when Stripe refuses', async () => {
    stripe.failNext(/^\/v1\/payment_intents$/, 429, { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' }, { shouldRetry: true });
    const retried = await sell({ type: 'day', quantity: 1, holder: 'Eve', method: 'card' });
    expect(retried.status).toBe(201);
    const attempts = stripe.requests.filter((r) => r.idempotencyKey === `opshub:expo:${retried.body.id}:payment-intent`);
    expect(attempts).toHaveLength(2);

    stripe.failNext(/^\/v1\/payment_intents$/, 401, { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_live_…' }, { shouldRetry: false });
    const refused = await sell({ type: 'day', quantity: 1, holder: 'Fay', method: 'card' });
    expect(refused).toMatchObject({ status: 503, body: { error: 'unavailable', message: expect.stringContaining('STRIPE_SECRET_KEY') } });
    const sales = (await call<{ sales: Sale[] }>('GET', '/api/v1/events/expo/box-office')).body.sales;
    expect(sales.find((s) => s.holder === 'Fay')).toMatchObject({ status: 'failed', tickets: [], failure: expect.stringContaining('secret key') });
  });
});

describe('refunds', () => {
  it('revoke the refunded ticket at once, go to Stripe with the amount, and are settled by charge.refunded', async () => {
    stripe.autoDeliver = true;
    const pending = (await sell({ type: 'day', quantity: 2, holder: 'Gus', email: 'gus@example.org', method: 'card' })).body;
    await stripe.succeed(pending.paymentIntent!);
    const paid = (await call<Sale>('GET', `/api/v1/events/expo/box-office/sales/${pending.id}`)).body;
    const [first, second] = paid.tickets;
    const before = await summary();

    stripe.autoDeliver = false; // the money settles when we deliver charge.refunded below
    const refunded = await call<Sale>('POST', `/api/v1/events/expo/box-office/sales/${pending.id}/refund`, { tickets: [first!.code] });
    expect(refunded.status).toBe(200);
    expect(refunded.body.tickets).toEqual([expect.objectContaining({ code: first!.code, status: 'revoked', refunded: true }), expect.objectContaining({ code: second!.code, status: 'valid', refunded: false })]);
    const request = stripe.requests.at(-1)!;
    expect(request).toMatchObject({ path: '/v1/refunds', params: { payment_intent: pending.paymentIntent, amount: '4500', metadata: { opshub_sale: pending.id, opshub_tickets: first!.code } }, idempotencyKey: `opshub:expo:${pending.id}:refund:${first!.code}` });
    // Not money yet: Stripe has not said the refund settled.
    expect((await summary()).refunds).toBe(before.refunds);
    const charge = [...stripe.charges.values()].find((c) => c.payment_intent === pending.paymentIntent)!;
    const event = stripe.event('charge.refunded', charge);
    stripe.autoDeliver = true;
    for (let i = 0; i < 3; i++) expect((await stripe.deliver(event)).status).toBe(200);
    const after = await summary();
    expect(after).toMatchObject({ gross: before.gross, refunds: before.refunds + 4500, net: before.net - 4500, refundedTickets: before.refundedTickets + 1 });
    expect((await listAudit(hub.backends.store.db, { event: 'expo' })).filter((a) => a.target === pending.id).map((a) => a.action)).toEqual(
      expect.arrayContaining(['sale.create', 'sale.settle', 'sale.refund', 'sale.refund.settle']),
    );
  });

  it('made in Stripe itself: a partial refund below a ticket’s price revokes nothing, a full one revokes all', async () => {
    const pending = (await sell({ type: 'day', quantity: 2, holder: 'Hal', method: 'card' })).body;
    await stripe.succeed(pending.paymentIntent!);
    await stripe.refundInDashboard(pending.paymentIntent!, 1000);
    const partly = (await call<Sale>('GET', `/api/v1/events/expo/box-office/sales/${pending.id}`)).body;
    expect(partly).toMatchObject({ refunded: 1000, tickets: [{ status: 'valid' }, { status: 'valid' }] });
    await stripe.refundInDashboard(pending.paymentIntent!);
    const all = (await call<Sale>('GET', `/api/v1/events/expo/box-office/sales/${pending.id}`)).body;
    expect(all).toMatchObject({ refunded: 9000, tickets: [{ status: 'revoked', refunded: true }, { status: 'revoked', refunded: true }] });
  });

  it('of cash go into the ledger at once', async () => {
    const cash = (await sell({ type: 'day', quantity: 1, holder: 'Ida', method: 'cash' })).body;
    const before = await summary();
    const refunded = await call<Sale>('POST', `/api/v1/events/expo/box-office/sales/${cash.id}/refund`, {});
    expect(refunded.body).toMatchObject({ refunded: 4500, tickets: [{ status: 'revoked', refunded: true }] });
    expect((await summary()).byChannel.cash!.refunds).toBe((before.byChannel.cash?.refunds ?? 0) + 4500);
    expect((await call('POST', `/api/v1/events/expo/box-office/sales/${cash.id}/refund`, {})).status).toBe(409);
  });
});

describe('payments made outside the box office', () => {
  it('issue tickets when their metadata names the event and ticket type (how an online shop feeds opshub)', async () => {
    // An online shop, with its own Stripe client, charges a buyer and tags the payment.
    const shop = new Stripe(stripe.options.secretKey, { host: '127.0.0.1', port: stripe.port, protocol: 'http', maxNetworkRetries: 0 });
    const intent = await shop.paymentIntents.create({
      amount: 8000,
      currency: 'eur',
      metadata: { opshub_event: 'expo', opshub_ticket_type: 'day', opshub_holder: 'Online Buyer', opshub_email: 'online@example.org', opshub_quantity: '2' },
    });
    await stripe.succeed(intent.id);
    const payment = await call<PaymentTickets>('GET', `/api/v1/events/expo/box-office/payments/${intent.id}`);
    expect(payment.body).toMatchObject({ status: 'paid', tickets: [{ status: 'valid' }, { status: 'valid' }] });
    const sale = (await call<Sale>('GET', `/api/v1/events/expo/box-office/sales/${payment.body.sale}`)).body;
    expect(sale).toMatchObject({ channel: 'online', amount: 8000, holder: 'Online Buyer', email: 'online@example.org', createdBy: 'stripe' });

    // Without an opshub event in the metadata it is somebody else's payment: acknowledged, nothing issued.
    const other = await shop.paymentIntents.create({ amount: 500, currency: 'eur', metadata: { order: '42' } });
    const tickets = await count('box_office_tickets');
    await stripe.succeed(other.id);
    expect(stripe.delivered.at(-1)).toMatchObject({ status: 200, body: expect.stringContaining('ignored') });
    expect(await count('box_office_tickets')).toBe(tickets);
  });
});

describe('the revenue summary', () => {
  it('reconciles exactly with the sales in the Store, and with the last revenue message', async () => {
    const s = await summary();
    const sales = await hub.backends.store.db.selectFrom('box_office_sales').select(['amount', 'refunded', 'channel']).where('event_id', '=', 'expo').where('status', '=', 'paid').execute();
    const gross = sales.reduce((n, r) => n + Number(r.amount), 0);
    const refunds = sales.reduce((n, r) => n + Number(r.refunded), 0);
    expect(s).toMatchObject({ currency: 'eur', gross, refunds, net: gross - refunds, sales: sales.length });
    expect(Object.values(s.byType).reduce((n, t) => n + t.net, 0)).toBe(s.net);
    expect(Object.values(s.byChannel).reduce((n, c) => n + c.gross, 0)).toBe(s.gross);
    expect(s.perMinute.reduce((n, m) => n + m.gross - m.refunds, 0)).toBe(s.net);
    expect(revenue().at(-1)!.totals).toMatchObject({ gross, refunds, net: gross - refunds });
    expect(s.seq).toBe((watcher.messages('event/expo/revenue').at(-1)!.seq as number));
  });
});
