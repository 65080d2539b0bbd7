import { afterAll, beforeAll, expect, it } from 'vitest';
import { AlertMessage, CapacityMessage } from '@opshub/schema';
import { listAudit } from '../../src/store/repos/audit-log.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { GateClient } from '../gates/gate-client.ts';

let t: TestHub;
let gate: GateClient;
let consoleA: TestClient;
let consoleB: TestClient;
const codes = Array.from({ length: 160 }, (_, i) => `S${i}`);

const lastCapacity = (client: TestClient) => CapacityMessage.parse(client.messages('event/cap/capacity').at(-1)?.data).zones.find((z) => z.zone === 'small')!;
const capacityReaches = (client: TestClient, inside: number) =>
  client.next((f) => f.op === 'msg' && f.topic === 'event/cap/capacity' && CapacityMessage.parse(f.data).zones.some((z) => z.zone === 'small' && z.inside === inside), 20_000, 0);
/** Every capacity alert as its latest message states it (an alert is restated with its current figure, same id). */
const latestCapacityAlerts = (client: TestClient) => {
  const byId = new Map<string, AlertMessage>();
  for (const m of client.messages('event/cap/alerts')) {
    const alert = AlertMessage.parse(m.data);
    if (alert.kind === 'capacity') byId.set(alert.id, { ...byId.get(alert.id), ...alert });
  }
  return [...byId.values()];
};
/** Waits until `ready()` holds, reading the alerts topic as it arrives. */
async function untilAlerts(client: TestClient, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`alerts never settled: ${JSON.stringify(latestCapacityAlerts(client).map((a) => a.title))}`);
    await client.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts', 20_000, client.frames.length);
  }
}
/** The open (neither acknowledged nor resolved) capacity alerts, in the order they were raised. */
const capacityAlerts = (client: TestClient) => latestCapacityAlerts(client).filter((a) => !a.ack && !a.resolved);

beforeAll(async () => {
  t = await startTestHub();
  await t.api('/api/v1/events', {
    method: 'POST',
    claims: { role: 'admin', events: ['*'] },
    body: JSON.stringify({ id: 'cap', name: 'Capacity', zones: [{ id: 'small', name: 'Small room', capacity: 100 }], gates: [{ id: 'door', name: 'Door', zone: 'small' }] }),
  });
  await t.api('/api/v1/events/cap/tickets', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify(codes.map((code) => ({ code }))) });
  gate = await GateClient.connect(t.port, 'cap', await t.token({ role: 'gate', events: ['cap'], gate: 'door' }));
  consoleA = await TestClient.connect(t.wsUrl, await t.token({ role: 'staff', events: ['cap'] }));
  consoleB = await TestClient.connect(t.wsUrl, await t.token({ role: 'staff', events: ['cap'] }));
  for (const c of [consoleA, consoleB]) for (const topic of ['event/cap/capacity', 'event/cap/alerts']) await c.subscribe(topic);
});
afterAll(async () => {
  gate?.close();
  await consoleA?.close();
  await consoleB?.close();
  await t?.close();
});

it('publishes occupancy and raises one alert per threshold crossing, without flooding while a zone hovers', async () => {
  for (const code of codes.slice(0, 90)) gate.scan({ code, gate: 'door' });
  await capacityReaches(consoleA, 90);
  await consoleA.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts' && (f.data as { detail: { threshold: number } }).detail.threshold === 90);
  expect(lastCapacity(consoleA)).toMatchObject({ inside: 90, capacity: 100, level: '90' });
  expect(capacityAlerts(consoleA).map((a) => a.detail.threshold).sort()).toEqual([80, 90]);

  // Hovering: out to 89 %, back in to 90 %, out, in: no new alert.
  for (let i = 0; i < 2; i++) {
    gate.scan({ code: codes[0]!, gate: 'door', dir: 'out', at: Date.now() + i * 2 });
    await capacityReaches(consoleA, 89);
    gate.scan({ code: codes[0]!, gate: 'door', dir: 'in', at: Date.now() + i * 2 + 1 });
    await capacityReaches(consoleA, 90);
  }
  expect(capacityAlerts(consoleA)).toHaveLength(2);
  // Full: one critical alert.
  for (const code of codes.slice(90, 100)) gate.scan({ code, gate: 'door' });
  const full = await consoleA.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts' && (f.data as { detail: { threshold: number } }).detail.threshold === 100);
  expect(full.data).toMatchObject({ severity: 'critical', detail: { zone: 'small', inside: 100, capacity: 100 } });
  // Each alert names its own threshold, also when one evaluation crosses several.
  expect(capacityAlerts(consoleA).map((a) => a.title).sort()).toEqual([
    expect.stringContaining('reached 100 %'),
    expect.stringContaining('reached 80 %'),
    expect.stringContaining('reached 90 %'),
  ]);
});

it('shares an acknowledgement live with every console, once, and audits it', async () => {
  const alert = capacityAlerts(consoleA).find((a) => a.detail.threshold === 100)!;
  const reply = await consoleA.command('alert.ack', { event: 'cap', id: alert.id });
  expect(reply).toMatchObject({ op: 'ok', result: { id: alert.id, already: false, ack: { by: 'staff-test' } } });
  const seen = await consoleB.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts' && (f.data as { id: string; ack?: unknown }).id === alert.id && !!(f.data as { ack?: unknown }).ack);
  expect(AlertMessage.parse(seen.data).ack?.by).toBe('staff-test');
  expect(await consoleB.command('alert.ack', { event: 'cap', id: alert.id })).toMatchObject({ op: 'ok', result: { already: true } });
  expect(await consoleB.command('alert.ack', { event: 'cap', id: 'nope' })).toMatchObject({ op: 'err', code: 'not_found' });
  const audit = await listAudit(t.backends.store.db, { event: 'cap' });
  expect(audit.filter((a) => a.action === 'alert.ack')).toHaveLength(1);
});

it('escalates past capacity at 110 % and 125 %, and keeps the figure of every open alert current (issue 12)', async () => {
  const alertFor = (threshold: number) => latestCapacityAlerts(consoleA).find((a) => a.detail.threshold === threshold);
  const full = alertFor(100)!;
  for (const code of codes.slice(100, 110)) gate.scan({ code, gate: 'door' });
  await capacityReaches(consoleA, 110);
  const escalation = await consoleA.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts' && (f.data as { detail: { threshold: number } }).detail.threshold === 110, 20_000, 0);
  expect(escalation.data).toMatchObject({ kind: 'capacity', severity: 'critical', detail: { zone: 'small', inside: 110, capacity: 100 } });
  // The 100 % alert (acknowledged, still open) is restated with the figure now, under the same id.
  await consoleA.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts' && (f.data as { id: string; detail: { inside: number } }).id === full.id && (f.data as { detail: { inside: number } }).detail.inside === 110, 20_000, 0);
  expect(alertFor(100)).toMatchObject({ id: full.id, title: expect.stringContaining('(now 110 %: 110 / 100)'), ack: { by: 'staff-test' }, detail: { threshold: 100, inside: 110, peak: 110 } });

  for (const code of codes.slice(110, 125)) gate.scan({ code, gate: 'door' });
  await capacityReaches(consoleA, 125);
  await consoleA.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts' && (f.data as { detail: { threshold: number } }).detail.threshold === 125, 20_000, 0);
  // No open alert is left with a stale figure: each says 125 / 100, live and over REST.
  const figuresNow = () => [80, 90, 100, 110, 125].map((p) => alertFor(p)?.title.match(/\(now .*\)/)?.[0]);
  await untilAlerts(consoleA, () => figuresNow().every((f) => f === '(now 125 %: 125 / 100)'));
  const listed = (await (await t.api('/api/v1/events/cap/alerts', { claims: { role: 'staff', events: ['cap'] } })).json()) as AlertMessage[];
  const listedCapacity = listed.filter((a) => a.kind === 'capacity');
  expect(listedCapacity).toHaveLength(5);
  for (const alert of listedCapacity) expect(alert.title).toContain('(now 125 %: 125 / 100)');
  // One alert per crossing: raising 125 did not raise 110 again.
  expect(latestCapacityAlerts(consoleA).filter((a) => a.detail.threshold === 110)).toHaveLength(1);
});

it('lets staff correct a counter (audited), publishes it, and re-arms thresholds the zone fell well below', async () => {
  const raised = latestCapacityAlerts(consoleA).map((a) => a.id);
  const reply = await consoleA.command('capacity.correct', { event: 'cap', zone: 'small', inside: 30, reason: 'manual count at the door' });
  expect(reply).toMatchObject({ op: 'ok', result: { zone: 'small', inside: 30, delta: -95 } });
  await capacityReaches(consoleB, 30);
  // Far below every threshold: each open capacity alert is resolved, with the figure it ended at.
  await untilAlerts(consoleB, () => latestCapacityAlerts(consoleB).every((a) => a.resolved));
  expect(latestCapacityAlerts(consoleB).map((a) => a.title.match(/\(now .*\)/)?.[0])).toEqual(raised.map(() => '(now 30 %: 30 / 100)'));
  const audit = (await listAudit(t.backends.store.db, { event: 'cap' })).find((a) => a.action === 'capacity.correct');
  expect(audit).toMatchObject({ actor: 'staff-test', target: 'small', after: { inside: 30, delta: -95, reason: 'manual count at the door' } });
  const rest = (await (await t.api('/api/v1/events/cap/capacity', { claims: { role: 'staff', events: ['cap'] } })).json()) as CapacityMessage;
  expect(rest.zones[0]).toMatchObject({ zone: 'small', inside: 30 });
  const summary = (await (await t.api('/api/v1/events/cap/checkins/summary', { claims: { role: 'staff', events: ['cap'] } })).json()) as { inside: number; byZone: Record<string, { inside: number }>; seq: number };
  expect(summary).toMatchObject({ inside: 30, byZone: { small: { inside: 30 } } });
  expect(summary.seq).toBe(await t.backends.bus.head('event/cap/checkins'));

  // 30 % re-armed every threshold: climbing back to 80 % alerts again (30 + 35 scans = 65 %, then a correction to 80).
  expect(capacityAlerts(consoleA)).toEqual([]);
  for (const code of codes.slice(125, 160)) gate.scan({ code, gate: 'door' });
  await capacityReaches(consoleA, 65);
  await consoleA.command('capacity.correct', { event: 'cap', zone: 'small', inside: 80, reason: 'recount' });
  await consoleA.next((f) => f.op === 'msg' && f.topic === 'event/cap/alerts' && capacityAlerts(consoleA).length > 0, 20_000, 0);
  expect(capacityAlerts(consoleA).map((a) => a.detail.threshold)).toEqual([80]);
  expect(await consoleA.command('capacity.correct', { event: 'cap', zone: 'nowhere', inside: 1, reason: 'x' })).toMatchObject({ code: 'not_found' });
});
