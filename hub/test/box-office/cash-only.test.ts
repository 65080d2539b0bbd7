/**
 * A hub without Stripe settings: the box office sells for cash, says plainly what card payments need, and refuses
 * webhooks it cannot verify; nothing crashes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BoxOfficeState, CreateSaleResult } from '@opshub/schema';
import { startTestHub, type TestHub } from '../support/test-hub.ts';

let hub: TestHub;
const staff = { role: 'staff' as const, events: ['fair'] };
beforeAll(async () => {
  hub = await startTestHub();
  const created = await hub.api('/api/v1/events', {
    method: 'POST',
    claims: { role: 'admin', events: ['*'] },
    body: JSON.stringify({ id: 'fair', name: 'Fair', ticketTypes: [{ id: 'entry', name: 'Entry', price: 500, currency: 'jpy' }] }),
  });
  expect(created.status).toBe(201);
}, 60_000);
afterAll(() => hub?.close());

it('sells for cash only and says card payments need STRIPE_SECRET_KEY', async () => {
  const state = (await (await hub.api('/api/v1/events/fair/box-office', { claims: staff })).json()) as BoxOfficeState;
  expect(state.card).toEqual({ available: false, reason: expect.stringContaining('STRIPE_SECRET_KEY') });

  const card = await hub.api('/api/v1/events/fair/box-office/sales', { method: 'POST', claims: staff, body: JSON.stringify({ type: 'entry', holder: 'Kei', method: 'card' }) });
  expect(card.status).toBe(503);
  expect(await card.json()).toEqual({ error: 'unavailable', message: expect.stringContaining('STRIPE_SECRET_KEY') });

  const cash = await hub.api('/api/v1/events/fair/box-office/sales', { method: 'POST', claims: staff, body: JSON.stringify({ type: 'entry', quantity: 3, holder: 'Kei', method: 'cash' }) });
  expect(cash.status).toBe(201);
  expect((await cash.json()) as CreateSaleResult).toMatchObject({ status: 'paid', amount: 1500, currency: 'jpy', tickets: [{}, {}, {}] });

  const webhook = await fetch(`${hub.httpUrl}/api/v1/stripe/webhook`, { method: 'POST', headers: { 'stripe-signature': 't=1,v1=00' }, body: '{}' });
  expect(webhook.status).toBe(503);
  expect(((await webhook.json()) as { message: string }).message).toContain('STRIPE_WEBHOOK_SECRET');
  const summary = (await (await hub.api('/api/v1/events/fair/revenue/summary', { claims: staff })).json()) as { currency: string; gross: number; sales: number };
  expect(summary).toMatchObject({ currency: 'jpy', gross: 1500, sales: 1 });
});
