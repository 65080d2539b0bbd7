/**
 * The control room against the real gate pipeline: a hub process serving the console, real edge agents
 * (`opshub-edge`) taking scans over their HTTP API, and two consoles in chromium.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeFleet } from '../../hub/test/gates/edge-fleet.ts';
import { minter } from '../../hub/test/support/test-hub.ts';
import { ensureConsoleBuild } from '../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { connectionState, consoleEvent, screenshot, signIn, watchShown } from './support/console-fixture.ts';
import { TcpProxy } from '../../hub/test/support/tcp-proxy.ts';

let fleet: EdgeFleet;
let browser: TestBrowser;
let proxy: TcpProxy;
/** through the proxy, so its connection can be cut */
let watcher: Page;
/** straight to the hub */
let second: Page;

const tickets = Array.from({ length: 60 }, (_, i) => ({
  code: `T${String(i + 1).padStart(3, '0')}`,
  holder: `Attendee ${i + 1}`,
  email: `a${i + 1}@example.org`,
  type: i % 5 === 0 ? 'vip' : 'general',
  zones: [],
}));
let next = 0;
const nextTicket = () => tickets[next++]!.code;

const kpi = (page: Page, name: 'registered' | 'checked-in' | 'inside' | 'rate'): Locator => page.locator(`[data-testid=kpi-${name}] strong`);
const figure = async (page: Page, name: 'registered' | 'checked-in' | 'inside' | 'rate') => Number((await kpi(page, name).innerText()).replace(/\D/g, ''));
const summary = async () =>
  (await (await fleet.api('/api/v1/events/expo/checkins/summary')).json()) as { checkedIn: number; inside: number; registered: number };
const vipAlerts = (page: Page, threshold: number) => page.locator(`[data-testid=alert][data-kind=capacity][data-zone=vip][data-threshold="${threshold}"]`);

beforeAll(async () => {
  await ensureConsoleBuild();
  fleet = await EdgeFleet.create('expo');
  await fleet.startHub();
  expect((await fleet.api('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(consoleEvent) })).status).toBe(201);
  const roster = await fleet.api('/api/v1/events/expo/tickets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tickets) });
  expect(await roster.json()).toMatchObject({ accepted: tickets.length });
  await Promise.all([fleet.startAgent('north-1', 'north'), fleet.startAgent('south-1', 'south'), fleet.startAgent('vip-1', 'vipdoor')]);
  browser = await launchBrowser();
  proxy = await TcpProxy.start('127.0.0.1', fleet.hubPort);
  const token = () => minter.mint({ sub: 'ops-lead', role: 'staff', events: ['expo'] });
  watcher = await browser.newPage();
  second = await browser.newPage();
  await signIn(watcher, `http://127.0.0.1:${proxy.port}`, '/ops/expo', await token());
  await signIn(second, fleet.hub!.httpUrl, '/ops/expo', await token());
  for (const page of [watcher, second]) {
    await connectionState(page, 'live');
    await kpi(page, 'registered').filter({ hasText: new RegExp(`^${tickets.length}$`) }).waitFor({ timeout: 10_000 });
  }
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await fleet?.close();
});

describe('control room with real gates', () => {
  it('shows the gates online, and a scan at an edge agent moves the count and the chart within a second', async () => {
    await watcher.locator('[data-testid=gates] tr[data-gate=north][data-online=true]').waitFor({ timeout: 15_000 });
    await watcher.locator('[data-testid=gates] tr[data-gate=vipdoor][data-online=true]').waitFor({ timeout: 15_000 });
    const before = await figure(watcher, 'checked-in');
    const chart = watcher.getByTestId('rate-chart');
    const chartBefore = Number(await chart.getAttribute('data-version'));

    // The page records when the count and the chart moved: the second is the product's, not the test driver's.
    const countedAt = await watchShown(watcher, '[data-testid=kpi-checked-in] strong', { number: before + 1 });
    const chartedAt = await watchShown(watcher, `[data-testid=rate-chart]:not([data-version="${chartBefore}"])`);
    const scannedAt = Date.now();
    expect(await fleet.scan('north-1', nextTicket())).toMatchObject({ verdict: 'admitted' });
    await expect.poll(() => figure(watcher, 'checked-in'), { timeout: 5000, interval: 20 }).toBe(before + 1);
    await expect.poll(async () => Number(await chart.getAttribute('data-version')), { timeout: 5000, interval: 20 }).toBeGreaterThan(chartBefore);
    expect((await countedAt()) - scannedAt).toBeLessThan(1000);
    expect((await chartedAt()) - scannedAt).toBeLessThan(1000);
    expect(await chart.getAttribute('aria-label')).toMatch(/[1-9]\d* admitted in the last 20 seconds/);
    await watcher.locator('[data-testid=gates] tr[data-gate=north] [title^="entry admitted"]').first().waitFor();
    expect(await figure(watcher, 'rate')).toBeGreaterThanOrEqual(1);
    expect(await figure(second, 'checked-in')).toBe(before + 1);
  });

  it('raises one alert when a zone passes 90 %, and not another while it hovers there', async () => {
    // The VIP lounge holds 20: eighteen admissions take it to 90 %.
    const inVip: string[] = [];
    for (let i = 0; i < 18; i++) {
      const code = nextTicket();
      inVip.push(code);
      expect(await fleet.scan('vip-1', code)).toMatchObject({ verdict: 'admitted' });
    }
    await watcher.locator('[data-testid=zone][data-zone=vip][data-level="90"]').waitFor({ timeout: 5000 });
    await vipAlerts(watcher, 90).waitFor({ timeout: 5000 });
    // Hover around 90 %: out to 85 %, back in to 90 %. Hysteresis (5 points): no second alert.
    expect(await fleet.scan('vip-1', inVip[0]!, 'out')).toMatchObject({ verdict: 'admitted' });
    await watcher.locator('[data-testid=zone][data-zone=vip][data-level="80"]').waitFor({ timeout: 5000 });
    expect(await fleet.scan('vip-1', inVip[0]!, 'in')).toMatchObject({ verdict: 'admitted' });
    await watcher.locator('[data-testid=zone][data-zone=vip][data-level="90"]').waitFor({ timeout: 5000 });
    const alerts = (await (await fleet.api('/api/v1/events/expo/alerts')).json()) as { kind: string; detail: { zone?: string; threshold?: number } }[];
    expect(alerts.filter((a) => a.kind === 'capacity' && a.detail.zone === 'vip' && a.detail.threshold === 90)).toHaveLength(1);
    expect(await vipAlerts(watcher, 90).count()).toBe(1);
    await vipAlerts(second, 90).waitFor();
    expect(await vipAlerts(second, 90).count()).toBe(1);
    await screenshot(watcher, 'control-room-capacity-alert');
  });

  it('acknowledging an alert on one console clears it on the other', async () => {
    const alert = vipAlerts(watcher, 90);
    const id = await alert.getAttribute('data-id');
    await alert.getByRole('button', { name: /^Acknowledge/ }).click();
    await vipAlerts(second, 90).waitFor({ state: 'detached', timeout: 3000 });
    await vipAlerts(watcher, 90).waitFor({ state: 'detached', timeout: 3000 });
    await second.getByText(/^Acknowledged \(\d+\)$/).click();
    await second.locator(`[data-testid=acked-alert][data-id="${id}"]`, { hasText: 'acknowledged by ops-lead' }).waitFor();
  });

  it('shows a duplicate admission made while the hub was down with both gates and times, once', async () => {
    const code = nextTicket();
    await fleet.stopHub();
    await connectionState(second, 'reconnecting');
    // Two gates into the same hall decide alone, from their replicas: each admits the same ticket.
    expect(await fleet.scan('north-1', code)).toMatchObject({ verdict: 'admitted' });
    expect(await fleet.scan('south-1', code)).toMatchObject({ verdict: 'admitted' });
    // Restarting the hub (PGlite recovery included) can take a minute on a loaded machine, and each console retries
    // on its own backoff: the waits below add up past the default test timeout, so this test names its own.
    await fleet.startHub({}, 120_000);
    for (const page of [watcher, second]) await connectionState(page, 'live', 60_000);
    const row = second.locator('[data-testid=duplicate]', { hasText: code });
    await row.waitFor({ timeout: 15_000 });
    expect(await row.count()).toBe(1);
    await expect.poll(() => row.locator('td').first().innerText()).toMatch(/North gate/);
    expect(await row.locator('td').nth(1).innerText()).toMatch(/South gate/);
    expect(await row.locator('time').count()).toBe(2);
    await watcher.locator('[data-testid=duplicate]', { hasText: code }).waitFor();
    // Counted once as a person, once as a duplicate, on both consoles.
    const expected = (await (await fleet.api('/api/v1/events/expo/checkins/summary')).json()) as { checkedIn: number; inside: number; duplicates: number };
    expect(expected.duplicates).toBe(1);
    for (const page of [watcher, second]) {
      await expect.poll(() => figure(page, 'checked-in'), { timeout: 5000 }).toBe(expected.checkedIn);
      await expect.poll(() => figure(page, 'inside'), { timeout: 5000 }).toBe(expected.inside);
    }
  }, 240_000);

  it('after its socket is cut and restored, the counts equal the summary endpoint', async () => {
    proxy.cut();
    await watcher.locator('[data-testid=connection][data-state=reconnecting]').waitFor();
    // Scans while the console cannot hear: admissions at both gates and an exit.
    for (let i = 0; i < 5; i++) expect(await fleet.scan('north-1', nextTicket())).toMatchObject({ verdict: 'admitted' });
    expect(await fleet.scan('north-1', tickets[0]!.code, 'out')).toMatchObject({ verdict: 'admitted' });
    expect(await fleet.scan('vip-1', nextTicket())).toMatchObject({ verdict: 'admitted' });
    // Let the hub record them before asking it.
    await expect.poll(async () => (await summary()).checkedIn, { timeout: 10_000 }).toBe(next);
    proxy.restore();
    await connectionState(watcher, 'live', 20_000);
    const expected = await summary();
    await expect.poll(() => figure(watcher, 'checked-in'), { timeout: 5000 }).toBe(expected.checkedIn);
    await expect.poll(() => figure(watcher, 'inside'), { timeout: 5000 }).toBe(expected.inside);
    expect(await figure(watcher, 'registered')).toBe(expected.registered);
    // The other console, never cut, agrees (its figures move on their own messages: polled like the first's).
    await expect.poll(() => figure(second, 'checked-in'), { timeout: 5000 }).toBe(expected.checkedIn);
    await expect.poll(() => figure(second, 'inside'), { timeout: 5000 }).toBe(expected.inside);
    expect(browser.errors).toEqual([]);
  });

  it('leaves a screenshot of a busy control room', async () => {
    await second.getByLabel('Message').fill('Keynote starts in 15 minutes in the main hall');
    await second.getByRole('button', { name: 'Send', exact: true }).click();
    await second.locator('[data-testid=announcement]', { hasText: 'Keynote starts' }).waitFor();
    await second.setViewportSize({ width: 1920, height: 1080 });
    await screenshot(second, 'control-room');
    await second.setViewportSize({ width: 1280, height: 800 });
    await screenshot(second, 'control-room-tablet');
  });

  it('a staff correction of a zone counter reaches every console', async () => {
    const zone = watcher.locator('[data-testid=zone][data-zone=hall]');
    await zone.getByText('Correct count').click();
    await zone.getByLabel('People counted inside').fill('42');
    await zone.getByLabel('Reason').fill('head count by steward');
    await zone.getByRole('button', { name: 'Set count' }).click();
    for (const page of [watcher, second]) {
      await page.locator('[data-testid=zone][data-zone=hall] .figure strong', { hasText: /^42$/ }).waitFor({ timeout: 5000 });
    }
  });
});
