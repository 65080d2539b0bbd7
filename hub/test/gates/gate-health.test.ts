/**
 * Gate health (issue 12): an agent killed with -9 raises exactly one `gate_offline` alert after GATE_OFFLINE_AFTER,
 * resolved when it restarts; the offline presence message keeps the gate's last sync. Real hub process, real agent.
 */
import { afterAll, expect, it } from 'vitest';
import { AlertMessage, GateMessage } from '@opshub/schema';
import { minter } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { EdgeFleet, until } from './edge-fleet.ts';

let fleet: EdgeFleet;
let control: TestClient;
afterAll(async () => {
  await control?.close();
  await fleet?.close();
});

it('kill -9 an agent: one gate_offline after the delay, resolved when it restarts, last sync kept', async () => {
  fleet = await EdgeFleet.create('health');
  await fleet.startHub({ GATE_OFFLINE_AFTER: '2' });
  const body = { id: 'health', name: 'Health', zones: [{ id: 'hall', name: 'Hall', capacity: 100 }], gates: [{ id: 'north', name: 'North', zone: 'hall' }] };
  expect((await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify(body) })).status).toBe(201);
  control = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'ops', role: 'staff', events: ['health'] }));
  await control.subscribe('event/health/alerts');
  await control.subscribe('event/health/gates');
  await fleet.startAgent('north-1', 'north');
  await until(() => fleet.status('north-1'), (s) => s.online, 'agent online');
  const online = await control.next((f) => f.op === 'msg' && f.topic === 'event/health/gates' && GateMessage.safeParse(f.data).success && (f.data as { online: boolean }).online, 10_000);
  expect(GateMessage.parse(online.data).lastSync).toBeGreaterThan(0);

  await fleet.killAgent('north-1');
  const killedAt = Date.now();
  const offline = await control.next((f) => f.op === 'msg' && f.topic === 'event/health/gates' && GateMessage.safeParse(f.data).success && !(f.data as { online: boolean }).online, 30_000);
  expect(GateMessage.parse(offline.data).lastSync).toBeGreaterThan(0);
  const raised = await control.next((f) => f.op === 'msg' && f.topic === 'event/health/alerts' && (f.data as { kind?: string }).kind === 'gate_offline', 60_000);
  expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1900);
  expect(AlertMessage.parse(raised.data)).toMatchObject({ kind: 'gate_offline', detail: { gate: 'north' } });

  await fleet.startAgent('north-1', 'north');
  const resolved = await control.next((f) => f.op === 'msg' && f.topic === 'event/health/alerts' && (f.data as { resolved?: unknown }).resolved !== undefined, 60_000);
  expect(AlertMessage.parse(resolved.data)).toMatchObject({ id: AlertMessage.parse(raised.data).id, kind: 'gate_offline' });
  const gateOffline = control.messages('event/health/alerts').filter((m) => (m.data as { kind: string }).kind === 'gate_offline');
  expect(gateOffline).toHaveLength(2); // raised once, resolved once
  const open = (await (await fleet.api('/api/v1/events/health/alerts')).json()) as AlertMessage[];
  expect(open.filter((a) => a.kind === 'gate_offline')).toEqual([]);
}, 240_000);
