/**
 * The sponsor dashboard in Debian's chromium against a real hub (in this process, port 0) serving the real build:
 * a lead scanned at a booth shows up within a second, the export downloads the booth's CSV, and a sponsor or a booth
 * sees only its own.
 */
import { readFile } from 'node:fs/promises';
import type { Claims } from '@opshub/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic, trafficPlan } from '../../hub/test/analytics/traffic.ts';
import { startTestHub, type TestHub } from '../../hub/test/support/test-hub.ts';
import { TestClient } from '../../hub/test/support/ws-client.ts';
import { ensureConsoleBuild } from '../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { connectionState, screenshot, signIn, watchShown } from './support/console-fixture.ts';

type Who = Partial<Claims> & Pick<Claims, 'role'>;
const admin: Who = { role: 'admin', sub: 'root', events: ['*'] };
const big: Who = { role: 'sponsor', sub: 'rep-big', sponsor: 'big' };
const booth1: Who = { role: 'exhibitor', sub: 'kim', exhibitor: 'x1' };

let hub: TestHub;
let browser: TestBrowser;

async function post(path: string, body: unknown): Promise<void> {
  const res = await hub.api(path, { method: 'POST', claims: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
}

beforeAll(async () => {
  await ensureConsoleBuild();
  hub = await startTestHub();
  await post('/api/v1/events', {
    id: 'expo',
    name: 'Expo 2026',
    timezone: 'Europe/Berlin',
    zones: [
      { id: 'hall', name: 'Main hall', capacity: 500 },
      { id: 'booth-1', name: 'Booth North', capacity: 40 },
      { id: 'booth-2', name: 'Booth South', capacity: 40 },
      { id: 'booth-3', name: 'Small booth', capacity: 20 },
    ],
    gates: [{ id: 'north', name: 'North gate', zone: 'hall' }],
  });
  await post('/api/v1/events/expo/tickets', [
    { code: 'A1', holder: 'Ada Lovelace', email: 'ada@example.org', type: 'vip' },
    { code: 'A2', holder: 'Grace Hopper', email: 'grace@example.org' },
  ]);
  await post('/api/v1/events/expo/consents', [{ code: 'A1', fields: ['name', 'email', 'type'] }]);
  await post('/api/v1/events/expo/sponsors', [
    { id: 'big', name: 'Big Corp', sessions: ['keynote'] },
    { id: 'small', name: 'Small Ltd', sessions: [] },
  ]);
  await post('/api/v1/events/expo/exhibitors', [
    { id: 'x1', name: 'Big Corp North', zone: 'booth-1', sponsor: 'big' },
    { id: 'x2', name: 'Big Corp South', zone: 'booth-2', sponsor: 'big' },
    { id: 'x3', name: 'Small Ltd', zone: 'booth-3', sponsor: 'small' },
  ]);
  // Half an hour of traffic before the page opens: scans into the booths, engagement in the sponsored keynote.
  const traffic = trafficPlan({
    events: 5_000,
    tickets: 200,
    start: Date.now() - 30 * 60_000,
    meanGapMs: 60_000,
    halls: ['hall'],
    booths: [
      { exhibitor: 'x1', zone: 'booth-1' },
      { exhibitor: 'x2', zone: 'booth-2' },
      { exhibitor: 'x3', zone: 'booth-3' },
    ],
    sessions: ['keynote', 'panel'],
  });
  for (const event of generateTraffic(traffic)) if (event.ts < Date.now()) hub.backends.analytics.record(event);
  await hub.backends.analytics.flush();
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
});

describe('the sponsor dashboard', () => {
  it('shows a lead captured at a booth within a second, with the KPIs, the heatmap and the export', async () => {
    const page = await browser.newPage();
    await signIn(page, hub.httpUrl, '/sponsor/expo/big', await hub.token(big));
    await page.getByRole('heading', { name: 'Big Corp' }).waitFor();
    await connectionState(page, 'live');
    await page.getByText('No leads yet').waitFor();
    await page.locator('[data-testid=heatmap][data-dim=zone][data-rows="2"]').waitFor();
    expect(await page.locator('[data-testid^=export-]').allInnerTexts()).toEqual(['Export Big Corp North (CSV)', 'Export Big Corp South (CSV)']);
    // The subscriptions are confirmed before anything is published (a lead before that would come from REST instead).
    await expect.poll(() => page.evaluate(() => document.querySelectorAll('[data-testid=lead]').length)).toBe(0);

    const scanner = await TestClient.connect(hub.wsUrl, await hub.token(booth1));
    // The page records when the lead showed: the second is the product's, not the test driver's.
    const shownAt = await watchShown(page, '[data-testid=lead]', { text: 'Wants a demo on Tuesday' });
    const started = Date.now();
    const answer = await scanner.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A1', rating: 4, notes: 'Wants a demo on Tuesday', tags: ['hot'] });
    expect(answer.op).toBe('ok');
    const lead = page.locator('[data-testid=lead]', { hasText: 'Wants a demo on Tuesday' });
    await lead.waitFor({ timeout: 5000 });
    expect((await shownAt()) - started).toBeLessThan(1000);
    expect(await lead.innerText()).toContain('Ada Lovelace');
    expect(await lead.innerText()).toContain('Big Corp North');
    await expect.poll(() => page.locator('[data-testid=kpi-leads] strong').innerText()).toBe('1');
    expect(await page.locator('[data-testid=kpi-rating] strong').innerText()).toBe('4.0');

    // A rescan updates the same card (visits), a consent-less attendee shows no name.
    await scanner.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A1' });
    await page.locator('[data-testid=lead]', { hasText: '2 visits' }).waitFor({ timeout: 1000 });
    await scanner.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A2', notes: 'no consent' });
    await page.locator('[data-testid=lead]', { hasText: 'no consent' }).getByText('Name not shared').waitFor({ timeout: 1000 });
    expect(await page.locator('[data-testid=lead]').count()).toBe(2);
    await scanner.close();

    // The figures from the engine follow on their next refresh (visits include the badge scans just made). The
    // badge scans reach the engine through the outbox relay: drained first, so the summary and every later refresh of
    // the page count the same events (a relay step landing between the two reads made visitors 151 against 150).
    await hub.hub.analyticsRelay.drain();
    await hub.backends.analytics.flush();
    const summary = (await (await hub.api('/api/v1/events/expo/sponsors/big/summary', { claims: big })).json()) as { totals: { visits: number; uniqueVisitors: number } };
    const nf = new Intl.NumberFormat(await page.evaluate(() => navigator.language));
    await page.getByRole('button', { name: '1m', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid=kpi-visits] strong').innerText(), { timeout: 5000 }).toBe(nf.format(summary.totals.visits));
    expect(await page.locator('[data-testid=kpi-visitors] strong').innerText()).toBe(nf.format(summary.totals.uniqueVisitors));
    await page.getByRole('button', { name: 'Session engagement' }).click();
    await page.locator('[data-testid=heatmap][data-dim=session][data-rows="1"]').waitFor();
    await page.getByRole('button', { name: 'Booth occupancy' }).click();
    await page.locator('[data-testid=heatmap][data-dim=zone][data-rows="2"]').waitFor();
    await page.locator('[data-testid=engagement-chart]').waitFor();
    await screenshot(page, 'sponsor-dashboard');

    const download = page.waitForEvent('download');
    await page.getByTestId('export-x1').click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('leads-expo-x1.csv');
    const csv = await readFile((await file.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('\uFEFFlead,name,email,ticket_type,rating,notes,tags,visits,captured_by,first_scan,last_scan');
    expect(csv).toContain('Ada Lovelace,ada@example.org,vip,4,Wants a demo on Tuesday,hot,2,kim');
    await page.close();
    expect(browser.errors).toEqual([]);
  });

  it('shows a booth its own booth only, and refuses another sponsor\'s dashboard', async () => {
    const boothPage = await browser.newPage();
    await signIn(boothPage, hub.httpUrl, '/sponsor/expo/big', await hub.token(booth1));
    await boothPage.getByRole('heading', { name: 'Big Corp' }).waitFor();
    await connectionState(boothPage, 'live');
    expect(await boothPage.locator('[data-testid^=export-]').allInnerTexts()).toEqual(['Export Big Corp North (CSV)']);
    await boothPage.locator('[data-testid=heatmap][data-dim=zone][data-rows="1"]').waitFor();
    expect(await boothPage.getByRole('button', { name: 'Session engagement' }).count()).toBe(0);
    expect(await boothPage.locator('[data-testid=kpi-engagement]').count()).toBe(0);
    await boothPage.locator('[data-testid=lead]').first().waitFor();
    await boothPage.close();

    const other = await browser.newPage();
    await signIn(other, hub.httpUrl, '/sponsor/expo/big', await hub.token({ role: 'sponsor', sub: 'rep-small', sponsor: 'small' }));
    await other.getByRole('heading', { name: 'Not allowed' }).waitFor();
    expect(await other.locator('[data-testid=lead]').count()).toBe(0);
    await other.close();
    expect(browser.errors).toEqual([]);
  });
});
