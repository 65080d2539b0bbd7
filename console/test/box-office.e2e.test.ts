/**
 * The box office in chromium: a cashier sells one ticket for cash and one by card (the buyer pays on the stand-in's
 * hosted page on a phone, which delivers Stripe's signed events), and the control room's revenue tile moves.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StripeStandIn } from '../../hub/test/support/stripe-stand-in.ts';
import { startTestHub, type TestHub } from '../../hub/test/support/test-hub.ts';
import { ensureConsoleBuild } from '../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { connectionState, consoleEvent, createEvent, screenshot, signIn } from './support/console-fixture.ts';

let stripe: StripeStandIn;
let hub: TestHub;
let browser: TestBrowser;
let cashier: Page;
let room: Page;

beforeAll(async () => {
  await ensureConsoleBuild();
  stripe = await StripeStandIn.start({ secretKey: 'sk_test_console', webhookSecret: 'whsec_console' });
  hub = await startTestHub({ stripe: stripe.config });
  stripe.webhookUrls = [`${hub.httpUrl}/api/v1/stripe/webhook`];
  await createEvent(hub, {
    ...consoleEvent,
    ticketTypes: [
      { id: 'day', name: 'Day pass', price: 4500, currency: 'eur', zones: ['hall'] },
      { id: 'vip', name: 'VIP', price: 12000, currency: 'eur', zones: [] },
    ],
  } as typeof consoleEvent);
  browser = await launchBrowser();
  const token = await hub.token({ role: 'staff', sub: 'cashier-ana', events: ['expo'] });
  cashier = await browser.newPage();
  room = await browser.newPage();
  await signIn(cashier, hub.httpUrl, '/box-office/expo', token);
  await signIn(room, hub.httpUrl, '/ops/expo', token);
  for (const page of [cashier, room]) await connectionState(page, 'live');
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await stripe?.close();
});

const net = async () => Number(await room.getByTestId('revenue-tile').getAttribute('data-net'));

it('sells for cash and by card on the phone; the control room’s revenue tile moves with each', async () => {
  await expect.poll(net, { timeout: 10_000 }).toBe(0);
  await expect.poll(() => room.getByTestId('revenue-net').innerText()).toBe('€0.00');

  // Cash: two day passes.
  await cashier.getByTestId('type-day').click();
  await cashier.getByTestId('quantity').fill('2');
  await cashier.getByTestId('holder').fill('Ana Lima');
  await cashier.getByTestId('email').fill('ana@example.org');
  expect(await cashier.getByTestId('total').innerText()).toBe('€90.00');
  await cashier.getByTestId('sell-cash').click();
  await cashier.locator('[data-testid=current-sale][data-status=paid]').waitFor();
  expect(await cashier.locator('[data-testid=issued-ticket][data-status=valid] svg[role=img]').count()).toBe(2);
  await screenshot(cashier, 'box-office-cash');
  await expect.poll(net, { timeout: 2000, interval: 20 }).toBe(9000);

  // Card: a VIP ticket paid on the buyer's phone through the QR code's page.
  await cashier.getByTestId('next-sale').click();
  await cashier.getByTestId('type-vip').click();
  await cashier.getByTestId('holder').fill('Bo Chen');
  await cashier.getByTestId('sell-card').click();
  const pending = cashier.locator('[data-testid=current-sale][data-status=pending]');
  await pending.waitFor();
  const qrText = await cashier.getByTestId('pay-qr').getAttribute('data-text');
  const link = await cashier.getByTestId('pay-link').getAttribute('href');
  expect(qrText).toBe(link);
  expect(link).toMatch(new RegExp(`^${stripe.url}/pay/cs_test_`));
  await screenshot(cashier, 'box-office-card-waiting');

  const phone = await browser.context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(link!);
  expect(await phone.getByTestId('total').innerText()).toBe('120.00 EUR');
  await phone.getByTestId('pay').click();
  await phone.getByTestId('status').waitFor();
  await phone.close();

  await cashier.locator('[data-testid=current-sale][data-status=paid]').waitFor({ timeout: 5000 });
  await expect.poll(net, { timeout: 2000, interval: 20 }).toBe(21000);
  expect(await room.getByTestId('revenue-net').innerText()).toBe('€210.00');
  await screenshot(cashier, 'box-office-card-paid');
  await room.getByTestId('revenue-tile').screenshot({ path: (await screenshot(room, 'control-room-with-revenue')).replace('.png', '-tile.png') });

  // Refund one of the cash tickets: the sale shows it refunded and the tile's net goes down.
  await cashier.getByTestId('next-sale').click();
  const cashRow = cashier.locator('[data-testid=sales] tr', { hasText: 'Ana Lima' });
  await cashRow.locator('summary').click();
  await cashRow.getByRole('button', { name: 'Refund this ticket' }).first().click();
  await cashier.getByTestId('refund-yes').click();
  await cashRow.locator('.tag.crit', { hasText: 'refunded' }).waitFor();
  await expect.poll(net, { timeout: 2000, interval: 20 }).toBe(16500);
  await screenshot(cashier, 'box-office-refunded');
  expect(browser.errors).toEqual([]);
}, 120_000);
