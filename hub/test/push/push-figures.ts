/**
 * Push figures: one emergency announcement to N subscriptions (default 10,000) from a hub process (`npm start`'s
 * main.ts, embedded backends) to the local push service stand-in, which checks and decrypts every request as a push
 * service would and holds each answer `--delay` ms (a push service across the internet). Not part of the test suite;
 * the bench's `push` scenario runs it, or run it alone:
 *
 *   npx tsx hub/test/push/push-figures.ts                       # 10,000 subscriptions, 20 ms per answer
 *   npx tsx hub/test/push/push-figures.ts --subscribers 1000 --delay 0
 *
 * Measured:
 * - opshub: sends per second from `announce.send` to the last subscription's outcome on `event/{e}/push` (the
 *   control room's figures), and a control client's ping round trip (p50, p99) while the hub sends;
 * - baseline: the same requests sent by `web-push` itself from a plain loop with the same concurrency (what the
 *   library can do with nothing around it: no Store, no claims, no figures), and the control ping with the hub idle.
 * The last stdout line is `FIGURES {json}`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import webpush from 'web-push';
import { PushDeliveryMessage } from '@opshub/schema';
import { startHubProcess } from '../support/hub-process.ts';
import { pingProbe } from '../support/ping-probe.ts';
import { createTestCertificate, PushServiceStandIn, type TestSubscriber } from '../support/push-service.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '10000' },
    delay: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '64' },
  },
});
const subscribers = Number(args.subscribers);
const delayMs = Number(args.delay);
const concurrency = Number(args.concurrency);
const event = 'pushbench';

/** Runs `work` over `items` with at most `limit` in flight. */
async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

const cert = await createTestCertificate();
const keys = webpush.generateVAPIDKeys();
const service = await PushServiceStandIn.start(cert, { expectedKey: keys.publicKey });
const dataDir = await mkdtemp(join(tmpdir(), 'opshub-push-figures-'));
const hub = await startHubProcess({
  HUB_JWT_SECRET: testSecret,
  DATA_DIR: dataDir,
  NODE_EXTRA_CA_CERTS: cert.certFile,
  PUSH_ALLOWED_ORIGINS: service.origin,
  VAPID_PUBLIC_KEY: keys.publicKey,
  VAPID_PRIVATE_KEY: keys.privateKey,
  VAPID_SUBJECT: 'mailto:ops@example.com',
  PUSH_CONCURRENCY: String(concurrency),
});
try {
  const admin = await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
  const created = await fetch(`${hub.httpUrl}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ id: event, name: 'Push bench' }) });
  if (created.status !== 201) throw new Error(`creating the event answered ${created.status}`);

  // Each subscription is an attendee's phone, subscribed over REST as the audience page does.
  const phones: TestSubscriber[] = Array.from({ length: subscribers }, (_, i) => service.subscriber(`s${i}`));
  await inPool(phones, 32, async (phone) => {
    const token = await minter.mint({ sub: `att-${phone.id}`, role: 'attendee', events: [event] });
    const res = await fetch(`${hub.httpUrl}/api/v1/events/${event}/push/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subscription: phone.subscription }),
    });
    if (res.status >= 300) throw new Error(`subscribing ${phone.id} answered ${res.status}: ${await res.text()}`);
  });

  const staffToken = await minter.mint({ sub: 'staff', role: 'staff', events: [event] });
  const room = await TestClient.connect(hub.wsUrl, staffToken);
  await room.subscribe(`event/${event}/push`);
  service.delayMs = delayMs;

  // The control ping with the hub idle: the baseline the ping while sending is read against.
  // The probe runs in a worker thread of its own: this process also runs the push service stand-in, whose TLS and
  // decryption would otherwise delay the probe's reading of the pong and be counted against the hub.
  const idleProbe = pingProbe(hub.wsUrl, staffToken);
  await idleProbe.ready;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const idle = await idleProbe.stop();

  const busyProbe = pingProbe(hub.wsUrl, staffToken);
  await busyProbe.ready;
  const started = performance.now();
  const sent = await room.command('announce.send', { event, text: 'Evacuate hall B by the east doors', level: 'emergency' });
  if (sent.op !== 'ok') throw new Error(`announce.send: ${JSON.stringify(sent)}`);
  const ref = (sent.result as { id: string }).id;
  const settled = await room.next((f) => {
    if (f.op !== 'msg' || f.topic !== `event/${event}/push`) return false;
    const { delivery: d } = PushDeliveryMessage.parse(f.data);
    return d.ref === ref && d.fannedOut && d.accepted + d.expired + d.failed === d.targeted;
  }, 600_000);
  const sendSeconds = (performance.now() - started) / 1000;
  const busy = await busyProbe.stop();
  const delivery = PushDeliveryMessage.parse(settled.data).delivery;
  if (delivery.accepted !== subscribers) throw new Error(`only ${delivery.accepted} of ${subscribers} accepted: ${JSON.stringify(delivery)}`);
  if (service.violations.length > 0) throw new Error(`the push service saw violations: ${service.violations.slice(0, 3).join('; ')}`);
  await room.close();

  // The baseline: web-push alone, the same payload size, the same concurrency, the same push service.
  const payload = service.receipts[0]!.text;
  const before = service.receipts.length;
  // The hub trusts the stand-in's certificate through NODE_EXTRA_CA_CERTS; this process through an agent of its own.
  const agent = new Agent({ ca: cert.cert, keepAlive: true, maxSockets: concurrency });
  const libraryStarted = performance.now();
  await inPool(phones, concurrency, async (phone) => {
    await webpush.sendNotification(phone.subscription, payload, {
      vapidDetails: { subject: 'mailto:ops@example.com', publicKey: keys.publicKey, privateKey: keys.privateKey },
      TTL: 600,
      urgency: 'high',
      agent,
    });
  });
  const librarySeconds = (performance.now() - libraryStarted) / 1000;
  agent.destroy();
  if (service.receipts.length - before !== subscribers) throw new Error('the baseline loop did not reach every subscription');

  console.log(
    `FIGURES ${JSON.stringify({
      subscribers,
      delayMs,
      concurrency,
      opshub: { sendsPerSec: Math.round(subscribers / sendSeconds), pingP50Ms: round(busy.p50), pingP99Ms: round(busy.p99), pings: busy.rtts.length },
      baseline: { sendsPerSec: Math.round(subscribers / librarySeconds), pingP50Ms: round(idle.p50), pingP99Ms: round(idle.p99), pings: idle.rtts.length },
    })}`,
  );
} finally {
  await hub.stop();
  await service.close();
  await cert.remove();
  await rm(dataDir, { recursive: true, force: true });
}
