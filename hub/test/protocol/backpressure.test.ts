import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CloseCode } from '@opshub/schema';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

let t: TestHub;
beforeAll(async () => {
  // A hard bound far above the soft one, so the sweep (not uWS's own cut) decides, however fast loopback fills it.
  t = await startTestHub({ wsLimits: { slowConsumerBytes: 256 * 1024, sweepMs: 100, maxBackpressureBytes: 512 * 1024 * 1024 } });
});
afterAll(() => t?.close());

it('disconnects a consumer that stops reading, counts it, and keeps serving everyone else in full', async () => {
  const topic = 'event/expo/alerts';
  const token = await t.token({ role: 'staff' });
  const slow = await TestClient.connect(t.wsUrl, token);
  const healthy = await TestClient.connect(t.wsUrl, token);
  await slow.subscribe(topic);
  await healthy.subscribe(topic);
  // Stop reading at the TCP level: the kernel buffers fill, then the hub's backpressure for this socket grows.
  const tcp = (slow.socket as unknown as { _socket: Socket })._socket;
  tcp.pause();

  const payload = 'x'.repeat(4096);
  const slowClosed = slow.closed;
  let sent = 0;
  let gone = false;
  void slowClosed.then(() => (gone = true));
  const counter = async () => (await t.hub.metrics.slowConsumers.get()).values[0]?.value ?? 0;
  // Publish in bursts, each read in full by the healthy client, until the hub gives up on the slow socket.
  while ((await counter()) === 0 && sent < 64_000) {
    for (let i = 0; i < 50; i++) await t.backends.bus.publish(topic, { i: sent++, payload });
    const last = sent - 1;
    await healthy.next((f) => f.op === 'msg' && (f.data as { i: number }).i === last, 10_000, Math.max(0, healthy.frames.length - 60));
  }
  expect(await counter()).toBe(1);
  tcp.resume();
  const { code } = await slowClosed;
  expect(gone).toBe(true);
  expect(code).toBe(CloseCode.slowConsumer);

  // The healthy client got every message, in order, none skipped.
  await healthy.next((f) => f.op === 'msg' && (f.data as { i: number }).i === sent - 1, 30_000);
  const got = healthy.messages(topic).map((m) => (m.data as { i: number }).i);
  expect(got.length).toBe(sent);
  expect(got.every((v, i) => v === i)).toBe(true);
  await healthy.close();
}, 60_000);
