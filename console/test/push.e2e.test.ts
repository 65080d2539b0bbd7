/**
 * Web push in chromium, end to end: the audience page registers its service worker, asks for notification
 * permission only on the deliberate tap, subscribes with the hub's VAPID key and registers the subscription with the
 * hub; an announcement goes out from a real hub process over HTTPS to a local push service (which decrypts it); the
 * decrypted payload is handed to the page's service worker through the DevTools protocol
 * (`ServiceWorker.deliverPushMessage`), which shows the notification; a tap opens the page it is about.
 *
 * What a headless browser cannot do here, and how the test stands in for it:
 * - `PushManager.subscribe` needs the browser vendor's push service (FCM for chromium), unreachable from these
 *   machines. An init script wraps it: the page's call (options included) is recorded and answered with a
 *   subscription whose endpoint is the local push service and whose keys the test holds. Everything after the call
 *   is the page's real code.
 * - A notification cannot be clicked through any automation API. The test dispatches `notificationclick` in the
 *   service worker with the real notification; such a script-made event carries no user activation, so the worker
 *   takes the path that needs none: it navigates the open audience window (opening a new window needs a real tap).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PushDeliveryList } from '@opshub/schema';
import { startHubProcess, type HubProcess } from '../../hub/test/support/hub-process.ts';
import { createTestCertificate, PushServiceStandIn, type TestCertificate } from '../../hub/test/support/push-service.ts';
import { minter, testSecret } from '../../hub/test/support/test-hub.ts';
import { TestClient } from '../../hub/test/support/ws-client.ts';
import { ensureConsoleBuild } from '../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { artifactsDir, consoleEvent, screenshot, signIn } from './support/console-fixture.ts';

let cert: TestCertificate;
let service: PushServiceStandIn;
let dataDir: string;
let hub: HubProcess;
let browser: TestBrowser;
let vapidKey: string;

const token = (sub: string, role: 'attendee' | 'staff' | 'admin') => minter.mint({ sub, role, events: role === 'admin' ? ['*'] : ['expo'] });

beforeAll(async () => {
  cert = await createTestCertificate();
  service = await PushServiceStandIn.start(cert);
  dataDir = await mkdtemp(join(tmpdir(), 'opshub-console-push-'));
  await ensureConsoleBuild();
  hub = await startHubProcess({ DATA_DIR: dataDir, HUB_JWT_SECRET: testSecret, NODE_EXTRA_CA_CERTS: cert.certFile, PUSH_ALLOWED_ORIGINS: service.origin, VAPID_SUBJECT: 'mailto:ops@example.com' });
  vapidKey = ((await (await fetch(`${hub.httpUrl}/api/v1/push/vapid-public-key`)).json()) as { key: string }).key;
  service.expectedKey = vapidKey;
  const created = await fetch(`${hub.httpUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('admin', 'admin')}` },
    body: JSON.stringify(consoleEvent),
  });
  expect(created.status).toBe(201);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  await service?.close();
  await cert?.remove();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Counts `Notification.requestPermission` calls and stands in for `PushManager.subscribe` (see the file comment). */
async function instrument(page: Page, subscription: unknown): Promise<void> {
  await page.addInitScript((json) => {
    const w = window as unknown as { __push: { permissionRequests: number; subscribeCalls: { userVisibleOnly: boolean; key: string }[] } };
    w.__push = { permissionRequests: 0, subscribeCalls: [] };
    const request = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = (...args: Parameters<typeof Notification.requestPermission>) => {
      w.__push.permissionRequests++;
      return request(...args);
    };
    let current: unknown = null;
    const fake = {
      ...(json as { endpoint: string }),
      toJSON: () => json,
      unsubscribe: async () => ((current = null), true),
    };
    PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
      const key = new Uint8Array(options?.applicationServerKey as ArrayBuffer);
      w.__push.subscribeCalls.push({
        userVisibleOnly: options?.userVisibleOnly === true,
        key: btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
      });
      current = fake;
      return fake as unknown as PushSubscription;
    };
    PushManager.prototype.getSubscription = async () => current as PushSubscription | null;
  }, subscription);
}

const pushState = (page: Page) => page.evaluate(() => (window as unknown as { __push: { permissionRequests: number; subscribeCalls: { userVisibleOnly: boolean; key: string }[] } }).__push);

/** The registration id DevTools knows the audience worker by. */
async function registrationId(cdp: CDPSession): Promise<string> {
  const found = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const audience = registrations.find((r) => r.scopeURL.endsWith('/live/') && !r.isDeleted);
      if (audience) resolve(audience.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  return found;
}

const shownNotifications = (page: Page) =>
  page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration('/live/');
    const list = (await registration?.getNotifications()) ?? [];
    return list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, requireInteraction: n.requireInteraction, data: n.data as { url: string } }));
  });

it('subscribes on the tap, shows the pushed announcement, and a tap on it opens its page', async () => {
  const phone = service.subscriber('phone');
  await browser.context.grantPermissions(['notifications'], { origin: hub.httpUrl });
  const page = await browser.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await instrument(page, phone.subscription);
  await signIn(page, hub.httpUrl, '/live/expo/keynote', await token('att-phone', 'attendee'));

  // On load: the worker is registered for the audience pages, and nobody was asked anything.
  const notify = page.getByTestId('notify-me');
  await notify.waitFor();
  expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/live/'))?.scope)).toBe(`${hub.httpUrl}/live/`);
  await expect.poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/live/'))?.active?.state), { timeout: 15_000 }).toBe('activated');
  expect(await pushState(page)).toEqual({ permissionRequests: 0, subscribeCalls: [] });
  expect(await page.evaluate(() => document.querySelector('link[rel=manifest]')?.getAttribute('href'))).toBe('/manifest.webmanifest');
  await page.getByTestId('notify').screenshot({ path: await screenshotPath('push-notify-off') });

  // The deliberate tap: permission asked once, the browser subscribed with the hub's key, the hub told.
  await notify.click();
  await page.getByTestId('notify-on').waitFor();
  expect(await pushState(page)).toEqual({ permissionRequests: 1, subscribeCalls: [{ userVisibleOnly: true, key: vapidKey }] });
  expect(await page.getByTestId('notify').textContent()).toContain('All announcements, and news about this session.');
  await page.getByTestId('notify').screenshot({ path: await screenshotPath('push-notify-on') });
  await page.getByText('Change what you get').click();
  expect(await page.getByTestId('notify-session').isChecked()).toBe(true);
  await page.getByTestId('notify').screenshot({ path: await screenshotPath('push-notify-choices') });
  // A changed choice goes to the hub; the summary shows what the hub now has.
  await page.getByLabel('Emergencies only').check();
  await page.getByTestId('notify').getByText('Emergencies only, and news about this session.').waitFor();
  await screenshot(page, 'push-audience-page');

  // An emergency from the control room reaches the local push service, encrypted for this browser.
  const staff = await TestClient.connect(hub.wsUrl, await token('ops-lead', 'staff'));
  const text = 'Leave hall B now by the east doors';
  expect((await staff.command('announce.send', { event: 'expo', text, level: 'emergency' })).op).toBe('ok');
  await service.until(() => service.receiptsFor('phone').length === 1);
  const payload = service.receiptsFor('phone')[0]!.text;
  expect(service.violations).toEqual([]);

  // The push service would now hand the message to the browser: DevTools delivers it to the page's worker.
  const cdp = await browser.context.newCDPSession(page);
  // Delivered again when nothing shows: on a loaded CI machine one delivery showed nothing for 15 s (2026-12-04;
  // the worker's start raced the delivery, cause in chromium not found). The payload's tag (`announcement-{id}`)
  // makes a late first delivery replace the second's notification, never add one; `more` below checks that.
  const registration = await registrationId(cdp);
  for (let attempt = 1; ; attempt++) {
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: hub.httpUrl, registrationId: registration, data: payload });
    try {
      await expect.poll(() => shownNotifications(page), { timeout: 10_000 }).toHaveLength(1);
      break;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  const [shown, ...more] = await shownNotifications(page);
  expect(more).toEqual([]);
  expect(shown).toMatchObject({ title: 'EMERGENCY · Expo 2026', body: text, requireInteraction: true, data: { url: '/live/expo/keynote' } });

  // The attendee has wandered to another session; tapping the notification brings them to the one it is about.
  await page.goto(`${hub.httpUrl}/live/expo/panel`);
  await page.getByTestId('audience-page').waitFor();
  const worker = browser.context.serviceWorkers().find((w) => w.url().endsWith('/service-worker.js'));
  expect(worker).toBeDefined();
  await worker!.evaluate(async () => {
    // Runs inside the worker, whose globals the page's type library does not describe.
    const sw = self as unknown as { registration: ServiceWorkerRegistration; dispatchEvent(e: Event): boolean };
    const NotificationEventClass = (self as unknown as { NotificationEvent: new (type: string, init: { notification: Notification }) => Event }).NotificationEvent;
    const [notification] = await sw.registration.getNotifications();
    sw.dispatchEvent(new NotificationEventClass('notificationclick', { notification: notification! }));
  });
  await page.waitForURL(`${hub.httpUrl}/live/expo/keynote`);
  await page.getByTestId('audience-page').waitFor();
  await expect.poll(() => shownNotifications(page), { timeout: 15_000 }).toHaveLength(0);
  await staff.close();
  await page.close();
  expect(browser.errors).toEqual([]);
}, 120_000);

it('shows the control room each push\'s delivery: sent, accepted, expired, failed, live', async () => {
  // More phones: one whose subscription has expired (410) and one the push service refuses (400).
  const crowd = Array.from({ length: 6 }, (_, i) => service.subscriber(`crowd-${i}`));
  const expired = service.subscriber('expired-phone');
  const refused = service.subscriber('refused-phone');
  for (const s of [...crowd, expired, refused]) {
    const res = await fetch(`${hub.httpUrl}/api/v1/events/expo/push/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(`att-${s.id}`, 'attendee')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subscription: s.subscription, sessions: ['keynote'] }),
    });
    expect(res.status).toBe(201);
  }
  service.script('expired-phone', { status: 410 });
  service.script('refused-phone', { status: 400 });

  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  await signIn(page, hub.httpUrl, '/ops/expo', await token('ops-lead', 'staff'));
  const panel = page.locator('section[aria-labelledby=h-push]');
  await panel.getByTestId('push-delivery').first().waitFor();

  const staff = await TestClient.connect(hub.wsUrl, await token('ops-lead', 'staff'));
  const sent = await staff.command('announce.send', { event: 'expo', text: 'Doors to hall C open in 5 minutes', level: 'warning' });
  expect(sent.op).toBe('ok');
  const ref = (sent.result as { id: string }).id;
  const row = panel.locator(`[data-testid=push-delivery][data-ref="${ref}"]`);
  // Live: the figures arrive on the topic while the page is open (6 + expired + refused = 8; the first test's phone
  // chose emergencies only).
  await row.locator('[data-testid=push-accepted]', { hasText: /^6$/ }).waitFor({ timeout: 30_000 });
  await row.locator('[data-testid=push-expired]', { hasText: /^1$/ }).waitFor();
  await row.locator('[data-testid=push-failed]', { hasText: /^1$/ }).waitFor();
  expect(await row.getByTestId('push-targeted').textContent()).toBe('8');
  expect(await row.getByTestId('push-sent').textContent()).toBe('8');
  await row.getByText('done').waitFor();
  // The expired phone was removed: 8 devices left of 9.
  await panel.getByTestId('push-subscriptions').getByText('8', { exact: true }).waitFor();
  const list = PushDeliveryList.parse(await (await fetch(`${hub.httpUrl}/api/v1/events/expo/push/deliveries`, { headers: { authorization: `Bearer ${await token('ops-lead', 'staff')}` } })).json());
  expect(list.subscriptions).toBe(8);
  await panel.screenshot({ path: await screenshotPath('push-control-room') });
  await screenshot(page, 'push-control-room-page');
  await staff.close();
  await page.close();
  expect(browser.errors).toEqual([]);
}, 90_000);

/** Where an element's screenshot goes (`artifacts/console/`, beside the full-page ones). */
async function screenshotPath(name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  return join(artifactsDir, `${name}.png`);
}
