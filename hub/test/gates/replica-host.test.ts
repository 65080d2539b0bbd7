import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateDocTypes, readMeta, readScans } from '@opshub/replica';
import { CheckinMessage, CloseCode, AlertMessage } from '@opshub/schema';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { GateClient } from './gate-client.ts';

let t: TestHub;
let console_: TestClient;
const open: GateClient[] = [];
const gate = async (role: 'gate' | 'staff' | 'admin' = 'gate', gateId = 'north') => {
  const client = await GateClient.connect(t.port, 'expo', await t.token({ role, gate: gateId }));
  open.push(client);
  return client;
};
const summary = async () => (await (await t.api('/api/v1/events/expo/checkins/summary', { claims: { role: 'staff' } })).json()) as Record<string, unknown>;
/** Waits until the hub has derived every scan it has seen (an observable condition; no blind sleep). */
const derived = async () => {
  const deadline = Date.now() + 10_000;
  while (!t.hub.checkinsIdle && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};

beforeAll(async () => {
  t = await startTestHub();
  expect((await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify(expoEvent) })).status).toBe(201);
  const roster = [
    { code: 'T1', holder: 'Ada Lovelace', email: 'ada@example.org', type: 'vip', zones: [] },
    { code: 'T2', holder: 'Grace Hopper', email: 'grace@example.org', type: 'general', zones: ['hall'] },
    { code: 'T3', holder: 'Alan Turing', email: 'alan@example.org', type: 'general', zones: ['hall', 'vip'] },
  ];
  expect((await t.api('/api/v1/events/expo/tickets', { method: 'POST', claims: { role: 'staff' }, body: JSON.stringify(roster) })).status).toBe(200);
  console_ = await TestClient.connect(t.wsUrl, await t.token({ role: 'staff' }));
  for (const topic of ['event/expo/checkins', 'event/expo/alerts', 'event/expo/capacity', 'event/expo/gates']) await console_.subscribe(topic);
});
afterAll(async () => {
  for (const client of open) client.close();
  await console_?.close();
  await t?.close();
});

describe('the replica host on /yjs', () => {
  it('serves the roster and meta from the Store to an unmodified y-websocket provider', async () => {
    const client = await gate('staff');
    expect(gateDocTypes(client.doc).tickets.get('T2')).toMatchObject({ holder: 'Grace Hopper', zones: ['hall'], status: 'valid' });
    expect(readMeta(client.doc)).toMatchObject({ event: 'expo', gates: [{ id: 'north', zone: 'hall' }, { id: 'vipdoor', zone: 'vip' }], publicKey: { kty: 'OKP', crv: 'Ed25519' } });
  });

  it('projects an imported ticket and a revocation to connected replicas', async () => {
    const client = await gate('gate');
    await t.api('/api/v1/events/expo/tickets', { method: 'POST', claims: { role: 'staff' }, body: JSON.stringify([{ code: 'T9', holder: 'Late Buyer' }]) });
    await client.until(() => client.tickets().has('T9'), 1000);
    await t.api('/api/v1/events/expo/tickets/T9/revoke', { method: 'POST', claims: { role: 'staff' } });
    await client.until(() => (client.tickets().get('T9') as { status: string }).status === 'revoked', 1000);
  });

  it('turns a scan into exactly one check-in, one message and a capacity change, and other gates see it', async () => {
    const a = await gate('gate', 'north');
    const b = await gate('gate', 'north');
    const scan = a.scan({ code: 'T2', gate: 'north' });
    await b.until((doc) => readScans(doc).some((s) => s.scanId === scan.scanId));
    const msg = await console_.next((f) => f.op === 'msg' && f.topic === 'event/expo/checkins' && (f.data as { scanId: string }).scanId === scan.scanId);
    expect(CheckinMessage.parse(msg.data)).toMatchObject({ code: 'T2', gate: 'north', zone: 'hall', holder: 'Grace Hopper', verdict: 'admitted', duplicate: false });
    await console_.next((f) => f.op === 'msg' && f.topic === 'event/expo/capacity' && ((f.data as { zones: { zone: string; inside: number }[] }).zones.find((z) => z.zone === 'hall')?.inside ?? 0) >= 1);
    // The same scan reaching the hub again through another socket changes nothing.
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    await derived();
    expect(console_.messages('event/expo/checkins').filter((m) => (m.data as { scanId: string }).scanId === scan.scanId)).toHaveLength(1);
    // T9 was revoked above: three valid tickets are registered.
    expect(await summary()).toMatchObject({ registered: 3, checkedIn: 1, inside: 1, byZone: { hall: { inside: 1, capacity: 500 } } });
  });

  it('raises one alert for a duplicate admission from another device and counts the attendee once', async () => {
    // Two laptops at the same zone's gates: a second entry without an exit is a duplicate.
    const a = await gate('gate', 'north');
    const b = await gate('gate', 'north');
    const first = a.scan({ code: 'T1', gate: 'north', at: Date.now() - 1000 });
    const second = b.scan({ code: 'T1', gate: 'north' });
    const alert = await console_.next((f) => f.op === 'msg' && f.topic === 'event/expo/alerts');
    expect(AlertMessage.parse(alert.data)).toMatchObject({
      kind: 'duplicate_admission',
      detail: { code: 'T1', first: { scanId: first.scanId, gate: 'north', device: a.device }, second: { scanId: second.scanId, gate: 'north', device: b.device } },
    });
    await derived();
    expect(console_.messages('event/expo/alerts')).toHaveLength(1);
    const dupMsg = console_.messages('event/expo/checkins').find((m) => (m.data as { scanId: string }).scanId === second.scanId);
    expect((dupMsg?.data as { duplicate: boolean }).duplicate).toBe(true);
    expect(await summary()).toMatchObject({ checkedIn: 2, inside: 2, duplicates: 1 });
    const alerts = (await (await t.api('/api/v1/events/expo/alerts', { claims: { role: 'staff' } })).json()) as unknown[];
    expect(alerts).toHaveLength(1);
  });

  it('moves an attendee between rooms on a scan into another zone: no duplicate, occupancy follows', async () => {
    const hallGate = await gate('gate', 'north');
    const vipGate = await gate('gate', 'vipdoor');
    const alertsBefore = console_.messages('event/expo/alerts').length;
    hallGate.scan({ code: 'T3', gate: 'north', at: Date.now() - 500 });
    vipGate.scan({ code: 'T3', gate: 'vipdoor' });
    await console_.next((f) => f.op === 'msg' && f.topic === 'event/expo/capacity' && (f.data as { zones: { zone: string; inside: number }[] }).zones.some((z) => z.zone === 'vip' && z.inside === 1));
    await derived();
    expect(console_.messages('event/expo/alerts')).toHaveLength(alertsBefore);
    expect(await summary()).toMatchObject({ duplicates: 1, byZone: { vip: { inside: 1 } } });
  });

  it('publishes gate presence from awareness, online and then offline', async () => {
    const client = await gate('gate', 'north');
    client.provider.awareness.setLocalState({ gate: 'north', device: client.device, online: true, pending: 2, lastScan: 123 });
    const online = await console_.next((f) => f.op === 'msg' && f.topic === 'event/expo/gates' && (f.data as { device: string }).device === client.device);
    expect(online.data).toMatchObject({ gate: 'north', online: true, pending: 2, lastScan: 123 });
    client.close();
    await console_.next((f) => f.op === 'msg' && f.topic === 'event/expo/gates' && (f.data as { device: string; online: boolean }).device === client.device && !(f.data as { online: boolean }).online);
  });
});

describe('what the replica host refuses', () => {
  it('closes 4403 for a role that may not open gate docs and for another event', async () => {
    const attendee = GateClient.open(t.port, 'expo', await t.token({ role: 'attendee' }));
    expect(await attendee.nextClose()).toBe(CloseCode.forbidden);
    attendee.close();
    const otherEvent = GateClient.open(t.port, 'expo', await t.token({ role: 'gate', events: ['other'] }));
    expect(await otherEvent.nextClose()).toBe(CloseCode.forbidden);
    otherEvent.close();
  });

  it('answers 401 before the upgrade for a bad token', async () => {
    const refused = await TestClient.connect(`ws://127.0.0.1:${t.port}/yjs/event/expo/gate`, 'forged').then(
      () => undefined,
      (e: { status?: number }) => e,
    );
    expect(refused?.status).toBe(401);
  });

  it('closes 4403 naming the gate when the token is for a gate the event does not have', async () => {
    const client = GateClient.open(t.port, 'expo', await t.token({ role: 'gate', gate: 'g9' }));
    open.push(client);
    expect(await client.nextClose()).toBe(CloseCode.forbidden);
  });

  it('closes 4403 when a gate writes outside scans, and the doc keeps its roster', async () => {
    const client = await gate('gate');
    gateDocTypes(client.doc).tickets.set('T3', { holder: 'Mallory', email: '', type: 'vip', zones: [], status: 'valid' });
    expect(await client.nextClose()).toBe(CloseCode.forbidden);
    client.close();
    const reader = await gate('staff');
    expect(gateDocTypes(reader.doc).tickets.get('T3')).toMatchObject({ holder: 'Alan Turing' });
  });

  it('closes 4403 when a staff reader writes a scan', async () => {
    const reader = await gate('staff');
    reader.scan({ code: 'T3', gate: 'north' });
    expect(await reader.nextClose()).toBe(CloseCode.forbidden);
  });

  it('rejects a scan record that breaks the schema and derives nothing from it', async () => {
    const client = await gate('gate');
    const before = console_.messages('event/expo/checkins').length;
    gateDocTypes(client.doc).scans.set('bad-scan-0001', { code: 'T3', gate: 'north', verdict: 'admitted' });
    expect(await client.nextClose()).toBe(CloseCode.invalidPayload);
    await derived();
    expect(console_.messages('event/expo/checkins').length).toBe(before);
  });

  it("relays a gate's scan to each other socket exactly once (ahead of applying it, not again after)", async () => {
    const { default: WebSocket } = await import('ws');
    const reader = new WebSocket(`ws://127.0.0.1:${t.port}/yjs/event/expo/gate?token=${await t.token({ role: 'staff' })}`);
    const updates: Uint8Array[] = [];
    reader.on('message', (data: Buffer) => {
      // y-websocket: [0 = sync, 2 = update, length, update]
      if (data[0] === 0 && data[1] === 2) updates.push(new Uint8Array(data));
    });
    // The hub subscribes a socket to its doc's relay right before sending its opening frames.
    await new Promise((r) => reader.once('message', r));
    const writer = await gate('gate');
    const scan = writer.scan({ code: 'T1', gate: 'north' });
    const staff = await gate('staff');
    await staff.until(() => readScans(staff.doc).some((s) => s.scanId === scan.scanId), 2000);
    await derived();
    reader.close();
    const carrying = updates.filter((u) => Buffer.from(u).includes(Buffer.from(scan.scanId)));
    expect(carrying).toHaveLength(1);
  });

  it.each([
    ['a truncated frame', [0, 2, 200, 1, 2, 3]],
    ['a well-framed update whose bytes are not a Yjs update', [0, 2, 4, 200, 200, 200, 200]],
  ])('closes a socket that sends %s with 1007 and keeps the doc intact', async (_name, bytes) => {
    const { default: WebSocket } = await import('ws');
    const socket = new WebSocket(`ws://127.0.0.1:${t.port}/yjs/event/expo/gate?token=${await t.token({ role: 'gate' })}`);
    await new Promise((r) => socket.once('open', r));
    const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
    socket.send(Buffer.from(bytes));
    expect(await closed).toBe(CloseCode.invalidPayload);
    const reader = await gate('staff');
    expect(gateDocTypes(reader.doc).tickets.size).toBeGreaterThanOrEqual(4);
  });
});
