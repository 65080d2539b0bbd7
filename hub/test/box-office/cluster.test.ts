/**
 * Revenue across two hub processes sharing Redis and PostgreSQL: sales on both, every Stripe event delivered to both
 * at once (as a load balancer in front of two hubs might, on Stripe's retries), refunds at the desk and in Stripe.
 * The summary on either hub equals the settled sales minus the refunds in the Store, and the revenue topic agrees.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RevenueMessage, RevenueSummary, type CreateSaleResult, type Sale } from '@opshub/schema';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { StripeStandIn, type StripeEventJson } from '../support/stripe-stand-in.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

describeWithService('DATABASE_URL', 'box office across hub processes', (databaseUrl) => {
  describeWithService('REDIS_URL', 'two hubs, one Redis, one PostgreSQL', (redisUrl) => {
    const schema = `opshub_box_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `b${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const dirs: string[] = [];
    let a: HubProcess;
    let b: HubProcess;
    let admin: pg.Client;
    let stripe: StripeStandIn;
    let watcher: TestClient;
    let token: string;

    const api = async <T>(hub: HubProcess, method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${hub.httpUrl}/api/v1/events/${event}${path}`, { method, headers: { authorization: `Bearer ${token}` }, ...(body ? { body: JSON.stringify(body) } : {}) });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const webhook = (hub: HubProcess) => `${hub.httpUrl}/api/v1/stripe/webhook`;
    /** Delivers an event to both hubs at the same moment, twice. */
    const toBoth = async (e: StripeEventJson) => {
      const answers = await Promise.all([a, b, a, b].map((hub) => stripe.deliver(e, {}, webhook(hub))));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    };

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      stripe = await StripeStandIn.start({ secretKey: 'sk_test_cluster', webhookSecret: 'whsec_cluster' });
      const env = async () => {
        const dir = await mkdtemp(join(tmpdir(), 'opshub-box-'));
        dirs.push(dir);
        return { REDIS_URL: redisUrl, DATABASE_URL: url.toString(), HUB_JWT_SECRET: testSecret, DATA_DIR: dir, STRIPE_SECRET_KEY: stripe.config.secretKey, STRIPE_WEBHOOK_SECRET: stripe.config.webhookSecret, STRIPE_API_URL: stripe.url };
      };
      [a, b] = await Promise.all([startHubProcess(await env()), startHubProcess(await env())]);
      stripe.webhookUrls = [webhook(a), webhook(b)];
      token = await minter.mint({ sub: 'cashier', role: 'staff', events: [event] });
      const res = await fetch(`${a.httpUrl}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}` },
        body: JSON.stringify({ id: event, name: 'Cluster fair', ticketTypes: [{ id: 'day', name: 'Day', price: 2500, currency: 'eur' }, { id: 'pro', name: 'Pro', price: 9900, currency: 'eur' }] }),
      });
      expect(res.status).toBe(201);
      watcher = await TestClient.connect(b.wsUrl, token);
      await watcher.subscribe(`event/${event}/revenue`);
    }, 120_000);

    afterAll(async () => {
      await watcher?.close();
      await Promise.all([a?.stop(), b?.stop()]);
      await stripe?.close();
      await admin?.query(`drop schema if exists "${schema}" cascade`);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('reconciles exactly: summary on either hub = settled sales − refunds in the Store = the last revenue message', async () => {
      stripe.autoDeliver = false;
      // Cash on both hubs at once.
      await Promise.all([
        api(a, 'POST', '/box-office/sales', { type: 'day', quantity: 2, holder: 'A1', method: 'cash' }),
        api(b, 'POST', '/box-office/sales', { type: 'pro', quantity: 1, holder: 'B1', method: 'cash' }),
        api(a, 'POST', '/box-office/sales', { type: 'day', quantity: 1, holder: 'A2', method: 'cash' }),
      ]);
      // Card sales made on either hub, confirmed on both at once.
      const card1 = await api<CreateSaleResult>(a, 'POST', '/box-office/sales', { type: 'pro', quantity: 2, holder: 'C1', method: 'card' });
      const card2 = await api<CreateSaleResult>(b, 'POST', '/box-office/sales', { type: 'day', quantity: 3, holder: 'C2', method: 'card' });
      await toBoth(await stripe.succeed(card1.paymentIntent!));
      const phone = await stripe.completeCheckout(new URL(card2.checkoutUrl!).pathname.split('/').pop()!);
      for (const e of phone.events) await toBoth(e);
      // A payment the box office never saw, confirmed on both.
      const online = stripe.event('payment_intent.succeeded', {
        id: `pi_online_${event}`,
        object: 'payment_intent',
        amount: 5000,
        amount_received: 5000,
        currency: 'eur',
        metadata: { opshub_event: event, opshub_ticket_type: 'day', opshub_holder: 'Web', opshub_email: 'web@example.org', opshub_quantity: '2' },
      });
      await toBoth(online);

      // A refund at the desk on hub B of one ticket, settled by Stripe's event on both hubs; a partial refund in Stripe.
      const paid1 = await api<Sale>(b, 'GET', `/box-office/sales/${card1.id}`);
      await api(b, 'POST', `/box-office/sales/${card1.id}/refund`, { tickets: [paid1.tickets[0]!.code] });
      const charge1 = [...stripe.charges.values()].find((c) => c.payment_intent === card1.paymentIntent)!;
      await toBoth(stripe.event('charge.refunded', charge1));
      await toBoth(await stripe.refundInDashboard(phone.paymentIntent, 2500));

      const [fromA, fromB] = await Promise.all([api<RevenueSummary>(a, 'GET', '/revenue/summary'), api<RevenueSummary>(b, 'GET', '/revenue/summary')]);
      const { rows } = await admin.query<{ gross: string; refunds: string; sales: string }>(
        `select sum(amount) as gross, sum(refunded) as refunds, count(*) as sales from "${schema}".box_office_sales where event_id = $1 and status = 'paid'`,
        [event],
      );
      const store = { gross: Number(rows[0]!.gross), refunds: Number(rows[0]!.refunds), sales: Number(rows[0]!.sales) };
      expect(store).toEqual({ gross: 2 * 2500 + 9900 + 2500 + 2 * 9900 + 3 * 2500 + 5000, refunds: 9900 + 2500, sales: 6 });
      for (const s of [fromA, fromB]) {
        expect(RevenueSummary.parse(s)).toMatchObject({ currency: 'eur', gross: store.gross, refunds: store.refunds, net: store.gross - store.refunds, sales: store.sales });
        expect(s.byType.day!.net + s.byType.pro!.net).toBe(s.net);
      }
      expect({ ...fromA, epoch: undefined }).toEqual({ ...fromB, epoch: undefined });

      // Every ledger entry was published once, in order, and the last message's totals are the summary's.
      const entries = Number((await admin.query<{ n: string }>(`select count(*) as n from "${schema}".revenue_entries where event_id = $1`, [event])).rows[0]!.n);
      await watcher.next((f) => f.op === 'msg' && (f.seq as number) === fromA.seq, 5000);
      const messages = watcher.messages(`event/${event}/revenue`).map((f) => RevenueMessage.parse(f.data));
      expect(messages).toHaveLength(entries);
      expect(messages.at(-1)!.totals).toMatchObject({ gross: store.gross, refunds: store.refunds, net: store.gross - store.refunds });
    }, 120_000);
  });
});
