/**
 * The console in Debian's chromium against a real hub (in this process, port 0) serving the real build:
 * sign-in, the emergency confirmation, and a cut connection that must resume without missing or repeating anything.
 */
import { get } from 'node:http';
import type { Page, WebSocket as PageWebSocket } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TcpProxy } from '../../hub/test/support/tcp-proxy.ts';
import { TestClient } from '../../hub/test/support/ws-client.ts';
import { connectionState, screenshot, signIn } from './support/console-fixture.ts';
import { useHubAndBrowser } from './support/hub-and-browser.ts';

const setup = useHubAndBrowser();

/** The status of a GET with `path` sent exactly as written. */
function rawStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: setup.hub.port, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

const announcementsWith = (page: Page, text: string) => page.locator('[data-testid=announcement]', { hasText: text });

describe('the hub serves the console', () => {
  it('answers client routes with the app, hashed assets as immutable, and leaves the API and health alone', async () => {
    const shell = await fetch(`${setup.hub.httpUrl}/ops/expo`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(shell.headers.get('cache-control')).toBe('no-cache');
    expect(shell.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await shell.text();
    expect(html).toContain('content-security-policy');
    const asset = /\/_app\/immutable\/[^"]+\.js/.exec(html)?.[0];
    expect(asset).toBeDefined();
    const js = await fetch(`${setup.hub.httpUrl}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${setup.hub.httpUrl}/_app/immutable/nope.js`)).status).toBe(404);
    // Raw paths: fetch() would normalise the dot segments away before sending.
    for (const path of ['/%2e%2e/package.json', '/_app/%2e%2e/%2e%2e/package.json', '/..%2fpackage.json']) expect(await rawStatus(path)).toBe(400);
    const health = await fetch(`${setup.hub.httpUrl}/healthz`);
    expect(await health.json()).toMatchObject({ ok: true });
    const missing = await fetch(`${setup.hub.httpUrl}/api/v1/no-such-thing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found' });
  });
});

describe('the console in chromium', () => {
  it('signs in from ?token=, drops the token from the address bar and history, and shows what the role may open', async () => {
    const page = await setup.browser.newPage();
    const token = await setup.hub.token({ role: 'staff' });
    await signIn(page, setup.hub.httpUrl, '/ops/expo', token);
    expect(page.url()).toBe(`${setup.hub.httpUrl}/ops/expo`);
    expect(await page.evaluate(() => sessionStorage.getItem('opshub.token'))).toBe(token);
    // The sign-in URL was replaced, not pushed: going back leaves the console rather than revealing the token.
    await page.goBack();
    expect(page.url()).toBe('about:blank');
    await page.goForward();
    expect(page.url()).toBe(`${setup.hub.httpUrl}/ops/expo`);
    await page.getByRole('heading', { name: 'Expo 2026' }).waitFor();
    await connectionState(page, 'live');
    const nav = page.getByRole('navigation', { name: 'Event' }).getByRole('link');
    expect(await nav.allInnerTexts()).toEqual(['Control room', 'Box office', 'Tickets', 'Gates', 'Set-up', 'Sessions', 'Audit', 'Moderation', 'Sponsors', 'Announcements']);
    await expect.poll(() => page.getByText('times in Europe/Berlin').count()).toBe(1);

    // A reload keeps the session (sessionStorage), and the token never comes back into the URL.
    await page.reload();
    await connectionState(page, 'live');
    expect(page.url()).toBe(`${setup.hub.httpUrl}/ops/expo`);
    await screenshot(page, 'control-room-signed-in');

    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');

    const attendee = await setup.browser.newPage();
    await signIn(attendee, setup.hub.httpUrl, '/ops/expo', await setup.hub.token({ role: 'attendee' }));
    await attendee.getByRole('heading', { name: 'Not allowed' }).waitFor();
    expect(await attendee.getByRole('navigation', { name: 'Event' }).getByRole('link').allInnerTexts()).toEqual(['Announcements']);
    await attendee.close();

    const forged = await setup.browser.newPage();
    await forged.goto(`${setup.hub.httpUrl}/?token=not-a-jwt`);
    await forged.getByRole('alert').filter({ hasText: 'Cannot sign in' }).waitFor();
    await forged.close();
    await page.close();
    expect(setup.browser.errors).toEqual([]);
  });

  it('sends an emergency announcement only after confirmation, and a second console shows it', async () => {
    const staff = await setup.browser.newPage();
    await signIn(staff, setup.hub.httpUrl, '/ops/expo', await setup.hub.token({ role: 'staff' }));
    await connectionState(staff, 'live');
    const attendee = await setup.browser.newPage();
    await signIn(attendee, setup.hub.httpUrl, '/announcements/expo', await setup.hub.token({ role: 'attendee' }));
    await connectionState(attendee, 'live');
    await attendee.getByText('No announcements yet.').waitFor();

    const text = 'Evacuate hall B calmly via the east exits';
    await staff.getByLabel('Message').fill(text);
    await staff.getByRole('radio', { name: 'emergency' }).check();
    await staff.getByRole('button', { name: 'Send emergency…' }).click();
    const dialog = staff.getByRole('dialog', { name: 'Send an emergency broadcast?' });
    await dialog.waitFor();
    expect(await dialog.getByText(text).count()).toBe(1);
    // Focus starts on Cancel: Enter on a stray keypress must not broadcast.
    expect(await staff.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Cancel');
    await screenshot(staff, 'emergency-confirmation');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const stored = await (await setup.hub.api('/api/v1/events/expo/announcements', { claims: { role: 'staff' } })).json();
    expect(stored).toEqual([]);

    await staff.getByRole('button', { name: 'Send emergency…' }).click();
    await dialog.getByRole('button', { name: 'Send emergency broadcast' }).click();
    await announcementsWith(attendee, text).waitFor({ timeout: 5000 });
    expect(await announcementsWith(attendee, text).getAttribute('data-level')).toBe('emergency');
    await announcementsWith(staff, text).waitFor();
    await staff.getByRole('status').filter({ hasText: 'Emergency broadcast sent' }).waitFor();
    await screenshot(attendee, 'emergency-received');
    await staff.close();
    await attendee.close();
    expect(setup.browser.errors).toEqual([]);
  });

  it('shows reconnecting when the socket is cut, then resumes with since and shows what it missed exactly once', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', setup.hub.port);
    const origin = `http://127.0.0.1:${proxy.port}`;
    const page = await setup.browser.newPage();
    const subs: { topic: string; since?: number }[] = [];
    page.on('websocket', (ws: PageWebSocket) =>
      ws.on('framesent', ({ payload }) => {
        const frame = JSON.parse(String(payload)) as { op: string; topic: string; since?: number };
        if (frame.op === 'sub') subs.push(frame);
      }),
    );
    try {
      await signIn(page, origin, '/ops/expo', await setup.hub.token({ role: 'staff' }));
      await connectionState(page, 'live');
      const before = 'Doors open at the north gate';
      const staff = await TestClient.connect(setup.hub.wsUrl, await setup.hub.token({ role: 'staff' }));
      expect(await staff.command('announce.send', { event: 'expo', text: before, level: 'info' })).toMatchObject({ op: 'ok' });
      await announcementsWith(page, before).waitFor();

      proxy.cut();
      await page.locator('[data-testid=connection][data-state=reconnecting]').waitFor();
      await page.getByTestId('degraded').waitFor();
      await screenshot(page, 'control-room-reconnecting');

      const missed = ['Coffee is served in hall A', 'North gate closes in 10 minutes'];
      expect(await staff.command('announce.send', { event: 'expo', text: missed[0], level: 'info' })).toMatchObject({ op: 'ok' });
      expect(await staff.command('announce.send', { event: 'expo', text: missed[1], level: 'warning' })).toMatchObject({ op: 'ok' });
      staff.socket.close();
      expect(await announcementsWith(page, missed[0]!).count()).toBe(0);
      const subsBefore = subs.length;

      proxy.restore();
      await connectionState(page, 'live', 20_000);
      for (const text of missed) await announcementsWith(page, text).waitFor();
      await page.getByTestId('degraded').waitFor({ state: 'detached' });
      // Once each, and nothing shown earlier came twice.
      for (const text of [...missed, before]) expect(await announcementsWith(page, text).count()).toBe(1);
      // The announcements topic resumed where it stopped, by seq.
      const resumed = subs.slice(subsBefore).find((s) => s.topic === 'event/expo/announcements');
      expect(resumed?.since).toBeGreaterThan(0);
      await screenshot(page, 'control-room-recovered');
      expect(setup.browser.errors).toEqual([]);
    } finally {
      await page.close();
      await proxy.close();
    }
  });

  it('keeps every check-in of a 50-per-second burst, without blocking the page', async () => {
    const page = await setup.browser.newPage();
    await page.setViewportSize({ width: 1920, height: 1080 });
    await signIn(page, setup.hub.httpUrl, '/ops/expo', await setup.hub.token({ role: 'staff' }));
    await connectionState(page, 'live');
    await page.evaluate(() => {
      if (!PerformanceObserver.supportedEntryTypes.includes('longtask')) throw new Error('this chromium reports no long tasks');
      const long: number[] = [];
      (globalThis as unknown as { longTasks: number[] }).longTasks = long;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => long.push(e.duration))).observe({ type: 'longtask' });
    });
    // Straight onto the bus, as the check-ins stream publishes them: 250 scans at 50 per second.
    const burst = 250;
    const started = Date.now();
    for (let i = 0; i < burst; i++) {
      await setup.hub.backends.bus.publish('event/expo/checkins', {
        scanId: `burst-${i}`, code: `B${i}`, gate: 'north', zone: 'hall', device: 'burst', dir: 'in', at: Date.now(), verdict: 'admitted', duplicate: false,
      });
      // Pacing the generator (not waiting for the page): the next scan is due 20 ms after the previous one.
      const due = started + (i + 1) * 20;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    const rate = page.locator('[data-testid=kpi-rate] strong');
    await expect.poll(async () => Number((await rate.innerText()).replace(/\D/g, '')), { timeout: 5000 }).toBe(burst);
    await page.locator('[data-testid=gates] tr[data-gate=north] td.num', { hasText: new RegExp(`^${burst}$`) }).first().waitFor();
    const longTasks = await page.evaluate(() => (globalThis as unknown as { longTasks: number[] }).longTasks);
    console.log(`burst of ${burst} at 50/s: ${longTasks.length} long tasks, longest ${Math.round(Math.max(0, ...longTasks))} ms`);
    // Half a second: a page that freezes. Normal runs here show 0–135 ms; with both cores taken by CPU hogs beside the
    // test run, the starved renderer showed one 378 ms task with nothing wrong in the page (a 250 ms bound flaked).
    expect(longTasks.filter((ms) => ms > 500)).toEqual([]);
    await screenshot(page, 'control-room-burst');
    await page.close();
    expect(setup.browser.errors).toEqual([]);
  });
});
