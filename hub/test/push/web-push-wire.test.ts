import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushDeliveryMessage, PushNotification, VapidPublicKey, type PushDelivery } from '@opshub/schema';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { createTestCertificate, PushServiceStandIn, type TestCertificate, type TestSubscriber } from '../support/push-service.ts';
import { expoEvent, minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/**
 * What crosses the wire between the hub and a push service. The hub runs as its own process (`npm start`'s
 * main.ts) with nothing push-related set but `PUSH_ALLOWED_ORIGINS` and `VAPID_SUBJECT`: its VAPID pair is generated
 * into DATA_DIR, and it trusts the stand-in's throwaway certificate through NODE_EXTRA_CA_CERTS, as an operator's hub
 * would trust a private CA. The stand-in checks every request as a push service does and decrypts each payload
 * with the subscription's private key (see support/push-service.ts).
 */
describe('web push on the wire', () => {
  let cert: TestCertificate;
  let service: PushServiceStandIn;
  let hub: HubProcess;
  let dataDir: string;
  let vapidKey: string;
  let staff: TestClient;

  const token = (sub: string, role: 'attendee' | 'staff' | 'moderator' | 'admin' = 'attendee') => minter.mint({ sub, role, events: role === 'admin' ? ['*'] : ['expo'] });
  const api = async (path: string, init: RequestInit & { as?: string; role?: 'attendee' | 'staff' | 'moderator' | 'admin' } = {}) => {
    const { as, role, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (as) headers.set('authorization', `Bearer ${await token(as, role)}`);
    return fetch(`${hub.httpUrl}${path}`, { ...rest, headers });
  };
  const subscribe = (subscriber: TestSubscriber, body: Record<string, unknown> = {}, as = `att-${subscriber.id}`) =>
    api('/api/v1/events/expo/push/subscriptions', { method: 'POST', as, body: JSON.stringify({ subscription: subscriber.subscription, ...body }) });
  const announce = async (text: string, level: 'info' | 'warning' | 'emergency'): Promise<string> => {
    const answer = await staff.command('announce.send', { event: 'expo', text, level });
    expect(answer.op, JSON.stringify(answer)).toBe('ok');
    return (answer.result as { id: string }).id;
  };
  /** The control room's figures for an announcement, once every subscription it went to has an outcome. */
  const settled = async (ref: string): Promise<PushDelivery> => {
    const frame = await staff.next((f) => {
      if (f.op !== 'msg' || f.topic !== 'event/expo/push') return false;
      const { delivery: d } = PushDeliveryMessage.parse(f.data);
      return d.ref === ref && d.fannedOut && d.accepted + d.expired + d.failed === d.targeted;
    }, 30_000);
    return PushDeliveryMessage.parse(frame.data).delivery;
  };
  const notification = (subscriber: string, index = -1) => PushNotification.parse(JSON.parse(service.receiptsFor(subscriber).at(index)!.text));

  beforeAll(async () => {
    cert = await createTestCertificate();
    service = await PushServiceStandIn.start(cert);
    dataDir = await mkdtemp(join(tmpdir(), 'opshub-push-wire-'));
    hub = await startHubProcess({
      HUB_JWT_SECRET: testSecret,
      DATA_DIR: dataDir,
      NODE_EXTRA_CA_CERTS: cert.certFile,
      PUSH_ALLOWED_ORIGINS: service.origin,
      VAPID_SUBJECT: 'mailto:ops@example.com',
    });
    vapidKey = VapidPublicKey.parse(await (await fetch(`${hub.httpUrl}/api/v1/push/vapid-public-key`)).json()).key;
    // Every request must carry the key the hub hands browsers.
    service.expectedKey = vapidKey;
    expect((await api('/api/v1/events', { method: 'POST', as: 'admin', role: 'admin', body: JSON.stringify(expoEvent) })).status).toBe(201);
    staff = await TestClient.connect(hub.wsUrl, await token('staff-1', 'staff'));
    expect((await staff.subscribe('event/expo/push')).op).toBe('ok');
  }, 90_000);

  afterAll(async () => {
    await staff?.close();
    await hub?.stop();
    await service?.close();
    await cert?.remove();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('generates its VAPID pair into DATA_DIR and hands browsers its public key', async () => {
    const stored = JSON.parse(await readFile(join(dataDir, 'vapid-keys.json'), 'utf8')) as { publicKey: string; privateKey: string };
    expect(stored.publicKey).toBe(vapidKey);
    expect(Buffer.from(vapidKey, 'base64url')).toHaveLength(65);
  });

  it('refuses endpoints outside the allowed origins with 400 and stores nothing', async () => {
    const port = new URL(service.origin).port;
    const good = service.subscriber('probe');
    const cases: [string, RegExp][] = [
      [`http://127.0.0.1:${port}/push/probe`, /https/],
      [`https://127.0.0.1:${Number(port) + 1}/push/probe`, /private or loopback/],
      ['https://10.0.0.8/push', /private or loopback/],
      ['https://[::1]/push', /private or loopback/],
      ['https://push.attacker.example/x', /not a known push service/],
    ];
    for (const [endpoint, why] of cases) {
      const res = await subscribe({ ...good, subscription: { ...good.subscription, endpoint } });
      expect(res.status, endpoint).toBe(400);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('invalid');
      expect(body.message).toMatch(why);
    }
    const notAPoint = { ...good.subscription, keys: { ...good.subscription.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } };
    expect((await api('/api/v1/events/expo/push/subscriptions', { method: 'POST', as: 'att-probe', body: JSON.stringify({ subscription: notAPoint }) })).status).toBe(400);
    expect((await api('/api/v1/events/expo/push/subscriptions', { method: 'POST', body: JSON.stringify({ subscription: good.subscription }) })).status).toBe(401);
    expect((await api('/api/v1/events/nope/push/subscriptions', { method: 'POST', as: 'att-probe', body: JSON.stringify({ subscription: good.subscription }) })).status).toBe(403);
    // None of them was stored: the next announcement goes to nobody.
    const ref = await announce('Nobody is subscribed yet', 'emergency');
    expect(await settled(ref)).toMatchObject({ targeted: 0, sent: 0 });
    expect(service.receipts).toEqual([]);
  });

  it('pushes announcements at or above each subscription\'s level, encrypted (RFC 8291) and signed for the endpoint\'s origin (RFC 8292)', async () => {
    const [all, warnings, emergencies] = [service.subscriber('all'), service.subscriber('warnings'), service.subscriber('emergencies')];
    expect((await subscribe(all, { sessions: ['keynote'] })).status).toBe(201);
    const answer = await subscribe(warnings, { announcements: 'warning' });
    expect(answer.status).toBe(201);
    expect(await answer.json()).toEqual({ endpoint: warnings.subscription.endpoint, announcements: 'warning', sessions: [] });
    expect((await subscribe(emergencies, { announcements: 'emergency' })).status).toBe(201);

    const info = await announce('Coffee is served in hall B', 'info');
    expect(await settled(info)).toMatchObject({ kind: 'announcement', level: 'info', targeted: 1, sent: 1, accepted: 1, title: 'Expo 2026', excerpt: 'Coffee is served in hall B' });
    const warning = await announce('Hall B is getting crowded: use the east entrance', 'warning');
    expect(await settled(warning)).toMatchObject({ targeted: 2, accepted: 2 });
    const emergency = await announce('Leave hall B now by the east doors', 'emergency');
    expect(await settled(emergency)).toMatchObject({ targeted: 3, accepted: 3 });

    expect(service.receiptsFor('all').map((r) => JSON.parse(r.text).body)).toEqual([
      'Coffee is served in hall B',
      'Hall B is getting crowded: use the east entrance',
      'Leave hall B now by the east doors',
    ]);
    expect(service.receiptsFor('warnings').map((r) => JSON.parse(r.text).body)).toEqual(['Hall B is getting crowded: use the east entrance', 'Leave hall B now by the east doors']);
    expect(service.receiptsFor('emergencies').map((r) => JSON.parse(r.text).body)).toEqual(['Leave hall B now by the east doors']);

    expect(notification('all', 0)).toMatchObject({ kind: 'announcement', event: 'expo', title: 'Expo 2026', level: 'info', url: '/live/expo/keynote' });
    expect(notification('emergencies')).toMatchObject({ title: 'EMERGENCY · Expo 2026', level: 'emergency', requireInteraction: true, url: '/live/', tag: `announcement-${emergency}` });
    const [infoReceipt] = service.receiptsFor('all');
    const emergencyReceipt = service.receiptsFor('emergencies')[0]!;
    expect(infoReceipt!.headers).toMatchObject({ 'content-encoding': 'aes128gcm', urgency: 'normal' });
    // An hour for ordinary news, counted from when it was queued.
    expect(Number(infoReceipt!.headers.ttl)).toBeGreaterThan(3000);
    expect(Number(infoReceipt!.headers.ttl)).toBeLessThanOrEqual(3600);
    expect(emergencyReceipt.headers).toMatchObject({ 'content-encoding': 'aes128gcm', urgency: 'high' });
    expect(Number(emergencyReceipt.headers.ttl)).toBeLessThanOrEqual(600);
    expect(emergencyReceipt.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    for (const r of service.receipts) {
      expect(r.headers.authorization).toMatch(new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${vapidKey}$`));
      expect(r.vapid).toMatchObject({ aud: service.origin, sub: 'mailto:ops@example.com' });
    }
    expect(service.violations).toEqual([]);
  });

  it('cuts an announcement too long for a push message to fit, and the text still decrypts', async () => {
    // 2,000 characters (the most an announcement has) of three UTF-8 bytes each: 6,000 bytes of text.
    const long = '避難してください。東口から出てください。'.repeat(100).slice(0, 2000);
    expect(Buffer.byteLength(long)).toBe(6000);
    const subscriber = service.subscriber('long');
    expect((await subscribe(subscriber, { announcements: 'emergency' })).status).toBe(201);
    const ref = await announce(long, 'emergency');
    await settled(ref);
    const n = notification('long');
    expect(n.body.endsWith('…')).toBe(true);
    expect(long.startsWith(n.body.slice(0, -1))).toBe(true);
    expect(service.receiptsFor('long')[0]!.bodyBytes).toBeLessThanOrEqual(4096);
  });

  it('removes a subscription its push service answers 410 for: the next announcement does not reach it', async () => {
    const gone = service.subscriber('gone');
    const stays = service.subscriber('stays');
    for (const s of [gone, stays]) expect((await subscribe(s, { announcements: 'emergency' })).status).toBe(201);
    service.script('gone', { status: 410 });
    const first = await announce('Shelter in place', 'emergency');
    const figures = await settled(first);
    expect(figures).toMatchObject({ expired: 1 });
    expect(figures.accepted).toBe(figures.targeted - 1);
    const second = await announce('All clear', 'emergency');
    expect(await settled(second)).toMatchObject({ targeted: figures.targeted - 1, expired: 0 });
    expect(service.receiptsFor('gone').map((r) => [r.status, JSON.parse(r.text).body])).toEqual([[410, 'Shelter in place']]);
    expect(service.receiptsFor('stays').map((r) => JSON.parse(r.text).body)).toEqual(['Shelter in place', 'All clear']);
  });

  it('retries 503 and 429 (after Retry-After) with the original deadline, then delivers once', async () => {
    const flaky = service.subscriber('flaky');
    expect((await subscribe(flaky, { announcements: 'emergency' })).status).toBe(201);
    service.script('flaky', { status: 503 }, { status: 429, headers: { 'retry-after': '1' } });
    const ref = await announce('Gate 3 is closed', 'emergency');
    expect(await settled(ref)).toMatchObject({ expired: 0, failed: 0 });
    const tries = service.receiptsFor('flaky');
    expect(tries.map((r) => r.status)).toEqual([503, 429, 201]);
    expect(new Set(tries.map((r) => JSON.parse(r.text).body))).toEqual(new Set(['Gate 3 is closed']));
    expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(900);
    // The retries ask the push service to keep the message no longer than the first try did.
    expect(Number(tries[2]!.headers.ttl)).toBeLessThanOrEqual(Number(tries[0]!.headers.ttl));
  });

  it('tells the asker when a moderator marks their question answered', async () => {
    const asker = service.subscriber('asker');
    expect((await subscribe(asker, { announcements: 'emergency', sessions: ['keynote'] }, 'att-asker')).status).toBe(201);
    const attendee = await TestClient.connect(hub.wsUrl, await token('att-asker'));
    const moderator = await TestClient.connect(hub.wsUrl, await token('mod-1', 'moderator'));
    const asked = await attendee.command('qa.ask', { event: 'expo', session: 'keynote', text: 'Will the slides be shared?', anonymous: false });
    expect(asked.op, JSON.stringify(asked)).toBe('ok');
    const id = (asked.result as { id: string }).id;
    expect((await moderator.command('qa.approve', { event: 'expo', id })).op).toBe('ok');
    expect((await moderator.command('qa.answer', { event: 'expo', id, answered: true })).op).toBe('ok');
    await service.until(() => service.receiptsFor('asker').length === 1);
    expect(notification('asker')).toMatchObject({ kind: 'answer', title: 'Your question was answered', body: 'Will the slides be shared?', url: '/live/expo/keynote#questions' });
    // Marking it answered again changes nothing, and tells nobody twice.
    expect((await moderator.command('qa.answer', { event: 'expo', id, answered: true })).op).toBe('ok');
    const again = await announce('Sessions resume at 14:00', 'emergency');
    await settled(again);
    expect(service.receiptsFor('asker').map((r) => JSON.parse(r.text).kind)).toEqual(['answer', 'announcement']);
    await Promise.all([attendee.close(), moderator.close()]);
  });

  it('unsubscribes with DELETE {endpoint}: only its owner (or staff), and nothing is pushed to it afterwards', async () => {
    const leaving = service.subscriber('leaving');
    expect((await subscribe(leaving, { announcements: 'emergency' })).status).toBe(201);
    const path = '/api/v1/events/expo/push/subscriptions';
    const body = JSON.stringify({ endpoint: leaving.subscription.endpoint });
    expect((await api(path, { method: 'DELETE', as: 'att-someone-else', body })).status).toBe(404);
    expect((await api(path, { method: 'DELETE', as: 'att-leaving' })).status).toBe(400);
    expect((await api(path, { method: 'DELETE', as: 'att-leaving', body })).status).toBe(204);
    expect((await api(path, { method: 'DELETE', as: 'att-leaving', body })).status).toBe(404);
    const ref = await announce('Last call for the shuttle', 'emergency');
    await settled(ref);
    expect(service.receiptsFor('leaving')).toEqual([]);
  });

  it('lists delivery figures for the control room and counts pushes in /metrics', async () => {
    expect((await api('/api/v1/events/expo/push/deliveries', { as: 'att-all' })).status).toBe(403);
    const list = (await (await api('/api/v1/events/expo/push/deliveries?limit=3', { as: 'staff-1', role: 'staff' })).json()) as { deliveries: PushDelivery[] };
    expect(list.deliveries).toHaveLength(3);
    expect(list.deliveries[0]!.excerpt).toBe('Last call for the shuttle');
    const metrics = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(value('opshub_push_requests_total{outcome="accepted"}')).toBeGreaterThanOrEqual(10);
    expect(value('opshub_push_requests_total{outcome="expired"}')).toBe(1);
    expect(value('opshub_push_requests_total{outcome="retry"}')).toBe(2);
    expect(value('opshub_push_jobs_total{kind="announcement"}')).toBeGreaterThanOrEqual(9);
    expect(value('opshub_push_jobs_total{kind="answer"}')).toBe(1);
    expect(metrics).toMatch(/^opshub_push_request_seconds_count \d+/m);
    expect(value('opshub_push_queue_depth')).toBe(0);
  });
});
