import { afterAll, beforeAll, expect, it } from 'vitest';
import { minter } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { EdgeFleet, until } from './edge-fleet.ts';

/**
 * The partition the product exists for: the hub goes away, two gates keep scanning (some of the same tickets), the
 * hub comes back, and everything converges with exact counts and every double admission flagged exactly once.
 */
let fleet: EdgeFleet;
const codes = Array.from({ length: 40 }, (_, i) => `P${String(i).padStart(3, '0')}`);

beforeAll(async () => {
  fleet = await EdgeFleet.create('part');
  await fleet.startHub();
  expect((await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify({ id: 'part', name: 'Partition', zones: [{ id: 'hall', name: 'Hall', capacity: 100 }], gates: [{ id: 'east', name: 'East', zone: 'hall' }, { id: 'west', name: 'West', zone: 'hall' }] }) })).status).toBe(201);
  expect((await fleet.api('/api/v1/events/part/tickets', { method: 'POST', body: JSON.stringify(codes.map((code) => ({ code, holder: `Holder ${code}` }))) })).status).toBe(200);
  await Promise.all([fleet.startAgent('east-1', 'east'), fleet.startAgent('west-1', 'west')]);
  for (const name of ['east-1', 'west-1']) await until(() => fleet.status(name), (s) => s.online && s.tickets === 40, `${name} synced`);
}, 90_000);
afterAll(() => fleet?.close());

it('converges after the hub comes back: exact check-ins, one alert per double admission, none false', async () => {
  await fleet.stopHub();
  for (const name of ['east-1', 'west-1']) await until(() => fleet.status(name), (s) => !s.online, `${name} offline`);

  const verdicts: string[] = [];
  // Disjoint tickets at each gate.
  for (const code of codes.slice(0, 10)) verdicts.push((await fleet.scan('east-1', code)).verdict);
  for (const code of codes.slice(10, 20)) verdicts.push((await fleet.scan('west-1', code)).verdict);
  // The same five tickets at both gates: each gate alone cannot know, so both admit.
  for (const code of codes.slice(20, 25)) verdicts.push((await fleet.scan('east-1', code)).verdict);
  for (const code of codes.slice(20, 25)) verdicts.push((await fleet.scan('west-1', code)).verdict);
  // Exit and re-entry on one gate is not a duplicate; nor is a re-scan at the same gate (it says already_in).
  expect((await fleet.scan('east-1', codes[0]!, 'out')).verdict).toBe('admitted');
  expect((await fleet.scan('east-1', codes[0]!, 'in')).verdict).toBe('admitted');
  expect((await fleet.scan('west-1', codes[10]!, 'in')).verdict).toBe('already_in');
  expect(verdicts.every((v) => v === 'admitted')).toBe(true);
  const totalScans = 10 + 10 + 5 + 5 + 3;

  await fleet.startHub();
  const staff = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'ops', role: 'staff', events: ['part'] }));
  await staff.subscribe('event/part/alerts', 0);
  for (const name of ['east-1', 'west-1']) await until(() => fleet.status(name), (s) => s.online && s.pending === 0 && s.scans === totalScans, `${name} converged`);

  const summary = await until(
    async () => (await (await fleet.api('/api/v1/events/part/checkins/summary')).json()) as { checkedIn: number; inside: number; duplicates: number; byGate: Record<string, { scans: number }> },
    (s) => (s.byGate.east?.scans ?? 0) + (s.byGate.west?.scans ?? 0) === totalScans,
    'every scan recorded',
  );
  expect(summary).toMatchObject({ registered: 40, checkedIn: 25, inside: 25, duplicates: 5, byGate: { east: { scans: 17 }, west: { scans: 16 } } });

  await until(async () => staff.messages('event/part/alerts').length, (n) => n >= 5, 'five alerts');
  const alerts = staff.messages('event/part/alerts').map((m) => m.data as { kind: string; detail: { code: string; first: { gate: string }; second: { gate: string } } });
  expect(alerts.map((a) => a.detail.code).sort()).toEqual(codes.slice(20, 25));
  expect(alerts.every((a) => a.kind === 'duplicate_admission' && a.detail.first.gate === 'east' && a.detail.second.gate === 'west')).toBe(true);
  const listed = (await (await fleet.api('/api/v1/events/part/alerts')).json()) as unknown[];
  expect(listed).toHaveLength(5);
  await staff.close();
}, 90_000);
