import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import webpush from 'web-push';
import { PushDeliveryMessage, PushNotification } from '@opshub/schema';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { createTestCertificate, PushServiceStandIn, type TestCertificate } from '../support/push-service.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

const SUBSCRIBERS = 1000;

/**
 * An emergency broadcast to 1,000 subscriptions from two hub processes sharing PostgreSQL and Redis: both hubs send
 * (each claims deliveries in the Store), and every subscription receives the broadcast exactly once.
 *
 * Both hubs are given the same VAPID pair, as every hub of a deployment must be. Isolation on the shared services: a
 * fresh PostgreSQL schema (through the connection string's search_path) and a fresh event id.
 */
describeWithService('DATABASE_URL', 'web push across hub processes', (databaseUrl) => {
  describeWithService('REDIS_URL', 'an emergency to 1,000 subscriptions from two hubs', (redisUrl) => {
    const schema = `opshub_push_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `p${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const dirs: string[] = [];
    let admin: pg.Client;
    let cert: TestCertificate;
    let service: PushServiceStandIn;
    let a: HubProcess;
    let b: HubProcess;

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      cert = await createTestCertificate();
      const keys = webpush.generateVAPIDKeys();
      service = await PushServiceStandIn.start(cert, { expectedKey: keys.publicKey });
      const env = async () => {
        const dir = await mkdtemp(join(tmpdir(), 'opshub-push-cluster-'));
        dirs.push(dir);
        return {
          REDIS_URL: redisUrl,
          DATABASE_URL: url.toString(),
          HUB_JWT_SECRET: testSecret,
          DATA_DIR: dir,
          NODE_EXTRA_CA_CERTS: cert.certFile,
          PUSH_ALLOWED_ORIGINS: service.origin,
          VAPID_PUBLIC_KEY: keys.publicKey,
          VAPID_PRIVATE_KEY: keys.privateKey,
          VAPID_SUBJECT: 'mailto:ops@example.com',
          PUSH_CONCURRENCY: '16',
        };
      };
      [a, b] = await Promise.all([startHubProcess(await env()), startHubProcess(await env())]);
      const res = await fetch(`${a.httpUrl}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}` },
        body: JSON.stringify({ id: event, name: 'Cluster push' }),
      });
      expect(res.status).toBe(201);
      // The subscriptions are written straight into the Store: 1,000 REST round trips would only slow the set-up
      // (subscribing over REST is covered in web-push-wire.test.ts). One endpoint and key pair per subscriber.
      const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => service.subscriber(`s${i}`));
      for (let i = 0; i < subscribers.length; i += 250) {
        const rows = subscribers.slice(i, i + 250);
        const values = rows.map((_, j) => `($1, $${j * 4 + 2}, $${j * 4 + 3}, 'attendee', $${j * 4 + 4}, $${j * 4 + 5}, 0)`);
        const params = [event, ...rows.flatMap((s) => [s.subscription.endpoint, `att-${s.id}`, s.subscription.keys.p256dh, s.subscription.keys.auth])];
        await admin.query(`insert into "${schema}".push_subscriptions (event_id, endpoint, owner, role, p256dh, auth, min_level) values ${values.join(', ')}`, params);
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await service?.close();
      await cert?.remove();
      await admin?.query(`drop schema if exists "${schema}" cascade`);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('reaches each subscription exactly once, sent by both hubs, with the figures on both', async () => {
      const staffToken = await minter.mint({ sub: 'staff-1', role: 'staff', events: [event] });
      // The control room watches on hub B; the broadcast is sent on hub A.
      const room = await TestClient.connect(b.wsUrl, staffToken);
      expect((await room.subscribe(`event/${event}/push`)).op).toBe('ok');
      const console_ = await TestClient.connect(a.wsUrl, staffToken);
      // A push service that takes a moment per request, as a real one across the internet does.
      service.delayMs = 20;
      const sent = await console_.command('announce.send', { event, text: 'Evacuate hall B by the east doors', level: 'emergency' });
      expect(sent.op, JSON.stringify(sent)).toBe('ok');
      const ref = (sent.result as { id: string }).id;

      const settled = await room.next((f) => {
        if (f.op !== 'msg' || f.topic !== `event/${event}/push`) return false;
        const { delivery: d } = PushDeliveryMessage.parse(f.data);
        return d.ref === ref && d.fannedOut && d.accepted + d.expired + d.failed === d.targeted;
      }, 90_000);
      expect(PushDeliveryMessage.parse(settled.data).delivery).toMatchObject({ targeted: SUBSCRIBERS, sent: SUBSCRIBERS, accepted: SUBSCRIBERS, expired: 0, failed: 0 });

      const perSubscriber = new Map<string, number>();
      for (const r of service.receipts) perSubscriber.set(r.subscriber, (perSubscriber.get(r.subscriber) ?? 0) + 1);
      expect(perSubscriber.size).toBe(SUBSCRIBERS);
      expect([...perSubscriber.values()].every((n) => n === 1)).toBe(true);
      expect(service.violations).toEqual([]);
      const n = PushNotification.parse(JSON.parse(service.receipts[0]!.text));
      expect(n).toMatchObject({ body: 'Evacuate hall B by the east doors', level: 'emergency', requireInteraction: true });
      expect(service.receipts.every((r) => r.headers.urgency === 'high')).toBe(true);

      // Both hubs took a share of the sends: the claims in the Store divided the work.
      const accepted = async (hub: HubProcess) => {
        const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
        return Number(/^opshub_push_requests_total\{outcome="accepted"\} (\S+)$/m.exec(text)?.[1] ?? 0);
      };
      const [fromA, fromB] = await Promise.all([accepted(a), accepted(b)]);
      expect(fromA + fromB).toBe(SUBSCRIBERS);
      expect(fromA).toBeGreaterThan(0);
      expect(fromB).toBeGreaterThan(0);
      await Promise.all([room.close(), console_.close()]);
    }, 120_000);
  });
});
