import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { PushDeliveryMessage, PushNotification, type PushDelivery } from '@opshub/schema';
import { WebPushSender } from '../../src/streams/push/web-push-sender.ts';
import { createTestCertificate, PushServiceStandIn, type TestCertificate, type TestSubscriber } from '../support/push-service.ts';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/**
 * The send queue in one hub process (PGlite, in-process bus), against the push service stand-in over real HTTPS.
 * The hub trusts the stand-in's certificate through its sender here; `web-push-wire.test.ts` runs the hub as its own
 * process trusting it through NODE_EXTRA_CA_CERTS, as an operator would.
 */
describe('push send queue', () => {
  const CONCURRENCY = 8;
  let cert: TestCertificate;
  let service: PushServiceStandIn;
  let hub: TestHub;
  /** staff on `event/expo/push`: the control room's view of every push */
  let room: TestClient;

  beforeAll(async () => {
    cert = await createTestCertificate();
    const keys = webpush.generateVAPIDKeys();
    service = await PushServiceStandIn.start(cert, { expectedKey: keys.publicKey });
    const subject = 'mailto:ops@example.com';
    hub = await startTestHub({
      push: {
        keys,
        subject,
        allowedOrigins: [service.origin],
        concurrency: CONCURRENCY,
        sender: new WebPushSender({ keys, subject, maxSockets: CONCURRENCY, extraCa: [cert.cert] }),
      },
    });
    expect((await hub.api('/api/v1/events', { method: 'POST', body: JSON.stringify(expoEvent), claims: { role: 'admin', events: ['*'] } })).status).toBe(201);
    room = await TestClient.connect(hub.wsUrl, await hub.token({ role: 'staff' }));
    expect((await room.subscribe('event/expo/push')).op).toBe('ok');
  });

  afterAll(async () => {
    await room?.close();
    await hub?.close();
    await service?.close();
    await cert?.remove();
  });

  const subscribe = async (subscriber: TestSubscriber, body: Record<string, unknown> = {}) => {
    const res = await hub.api('/api/v1/events/expo/push/subscriptions', {
      method: 'POST',
      body: JSON.stringify({ subscription: subscriber.subscription, ...body }),
      claims: { role: 'attendee', sub: `att-${subscriber.id}`, events: ['expo'] },
    });
    expect(res.status, await res.clone().text()).toBe(201);
  };

  /** The control room's figures for a push once every subscription it went to has an outcome. */
  const settled = async (match: (d: PushDelivery) => boolean, timeoutMs = 30_000): Promise<PushDelivery> => {
    const frame = await room.next((f) => {
      if (f.op !== 'msg' || f.topic !== 'event/expo/push') return false;
      const { delivery: d } = PushDeliveryMessage.parse(f.data);
      return match(d) && d.fannedOut && d.accepted + d.expired + d.failed === d.targeted;
    }, timeoutMs);
    return PushDeliveryMessage.parse(frame.data).delivery;
  };

  it('sends session news to the session\'s followers only, whatever their announcement level', async () => {
    const follower = service.subscriber('follower');
    const emergencyOnly = service.subscriber('emergency-only');
    const other = service.subscriber('other-session');
    await subscribe(follower, { sessions: ['keynote'] });
    await subscribe(emergencyOnly, { sessions: ['keynote', 'panel'], announcements: 'emergency' });
    await subscribe(other, { sessions: ['panel'] });
    const id = await hub.hub.push.toSession('expo', 'keynote', { title: 'Keynote moved', body: 'Hall A is full: watch it in Hall B (overflow)' });
    expect(await settled((d) => d.id === id)).toMatchObject({ kind: 'session', ref: 'keynote', targeted: 2, sent: 2, accepted: 2, expired: 0, failed: 0 });
    for (const who of ['follower', 'emergency-only']) {
      const [receipt, ...more] = service.receiptsFor(who);
      expect(more).toEqual([]);
      expect(PushNotification.parse(JSON.parse(receipt!.text))).toMatchObject({
        kind: 'session',
        title: 'Keynote moved',
        body: 'Hall A is full: watch it in Hall B (overflow)',
        url: '/live/expo/keynote',
        tag: 'session-keynote',
      });
      expect(receipt!.headers.urgency).toBe('normal');
    }
    expect(service.receiptsFor('other-session')).toEqual([]);
    expect(service.violations).toEqual([]);
  });

  it('sends an announcement to 150 subscriptions exactly once each, never more than its concurrency in flight', async () => {
    const crowd = Array.from({ length: 150 }, (_, i) => service.subscriber(`crowd-${i}`));
    for (let i = 0; i < crowd.length; i += 50) await Promise.all(crowd.slice(i, i + 50).map((s) => subscribe(s)));
    // A push service that takes a moment per request, so the hub has to queue.
    service.delayMs = 15;
    const before = service.receipts.length;
    const { peak } = service.measureConcurrency();
    const staff = await TestClient.connect(hub.wsUrl, await hub.token({ role: 'staff' }));
    const sent = await staff.command('announce.send', { event: 'expo', text: 'Lunch is served in hall C', level: 'info' });
    expect(sent.op).toBe('ok');
    const ref = (sent.result as { id: string }).id;
    // Two subscribers of the first test receive it too (the third wants emergencies only).
    expect(await settled((d) => d.ref === ref, 60_000)).toMatchObject({ kind: 'announcement', targeted: 152, sent: 152, accepted: 152, expired: 0, failed: 0, title: 'Expo 2026', excerpt: 'Lunch is served in hall C' });
    service.delayMs = 0;
    for (const s of crowd) expect(service.receiptsFor(s.id).map((r) => JSON.parse(r.text).body)).toEqual(['Lunch is served in hall C']);
    expect(service.receipts.length - before).toBe(152);
    expect(peak()).toBeLessThanOrEqual(CONCURRENCY);
    expect(peak()).toBeGreaterThan(1);
    expect(service.violations).toEqual([]);
    await staff.close();
  }, 90_000);

  it('tells a session\'s followers once that it is about to start, and not a session further off', async () => {
    const earlyBird = service.subscriber('early-bird');
    await subscribe(earlyBird, { sessions: ['opening', 'closing'] });
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    const sessions = [
      { id: 'opening', title: 'Opening keynote', zone: 'hall', startsAt: at(5), endsAt: at(65) },
      { id: 'closing', title: 'Closing panel', zone: 'hall', startsAt: at(300), endsAt: at(360) },
    ];
    const created = await hub.api('/api/v1/events/expo/sessions', { method: 'POST', body: JSON.stringify(sessions), claims: { role: 'admin', events: ['*'] } });
    expect(created.status, await created.clone().text()).toBe(201);
    // Two looks at the agenda (as two hubs, or two ticks, would make): one reminder.
    await Promise.all([hub.hub.sessionReminders.remindDue(), hub.hub.sessionReminders.remindDue()]);
    expect(await settled((d) => d.kind === 'session' && d.ref === 'opening')).toMatchObject({ targeted: 1, accepted: 1 });
    await hub.hub.sessionReminders.remindDue();
    const received = service.receiptsFor('early-bird').map((r) => PushNotification.parse(JSON.parse(r.text)));
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ kind: 'session', title: 'Opening keynote starts in 5 min', url: '/live/expo/opening', tag: 'session-opening-start' });
    expect(received[0]!.body).toContain('Main hall');
    expect(service.violations).toEqual([]);
  });
});
