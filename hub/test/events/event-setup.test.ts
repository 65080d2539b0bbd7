import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMeta } from '@opshub/replica';
import { listAudit } from '../../src/store/repos/audit-log.ts';
import { GateClient } from '../gates/gate-client.ts';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';

let t: TestHub;
const open: GateClient[] = [];
const admin = { role: 'admin' as const, events: ['*'] };
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  t = await startTestHub();
  for (const event of [expoEvent, { id: 'other', name: 'Other fair', zones: [], gates: [] }, { id: 'third', name: 'Third', zones: [], gates: [] }]) {
    expect((await t.api('/api/v1/events', { method: 'POST', claims: admin, ...json(event) })).status).toBe(201);
  }
  const roster = [
    { code: 'T1', holder: 'Ada Lovelace', email: 'ada@example.org', type: 'vip', zones: [] },
    { code: 'T2', holder: 'Grace Hopper', email: 'grace@example.org', type: 'general', zones: ['hall'] },
  ];
  expect((await t.api('/api/v1/events/expo/tickets', { method: 'POST', claims: { role: 'staff' }, ...json(roster) })).status).toBe(200);
});
afterAll(async () => {
  for (const client of open) client.close();
  await t?.close();
});

describe('GET /api/v1/events', () => {
  it('lists the events the token names that exist (every event for an admin), with counts', async () => {
    const all = (await (await t.api('/api/v1/events', { claims: admin })).json()) as { events: { id: string }[] };
    expect(all.events.map((e) => e.id)).toEqual(['expo', 'other', 'third']);
    const some = (await (await t.api('/api/v1/events', { claims: { role: 'staff', events: ['third', 'expo', 'ghost'] } })).json()) as { events: unknown[] };
    expect(some.events).toEqual([
      { id: 'expo', name: 'Expo 2026', timezone: 'UTC', zones: 2, gates: 2, tickets: 2 },
      { id: 'third', name: 'Third', timezone: 'UTC', zones: 0, gates: 0, tickets: 0 },
    ]);
    expect((await t.api('/api/v1/events')).status).toBe(401);
  });
});

describe('PATCH /api/v1/events/{e}', () => {
  it('edits name, time zone, zones and gates, audits the change and reaches a connected gate replica within a second', async () => {
    const gate = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'north' }));
    open.push(gate);
    const res = await t.api('/api/v1/events/expo', {
      method: 'PATCH',
      claims: { role: 'staff', sub: 'ana' },
      ...json({
        name: 'Expo 2026 (day 2)',
        timezone: 'Europe/Berlin',
        zones: [...expoEvent.zones.map((z) => (z.id === 'hall' ? { ...z, capacity: 800 } : z)), { id: 'terrace', name: 'Terrace', capacity: 120 }],
        gates: [...expoEvent.gates, { id: 'south', name: 'South gate', zone: 'terrace' }],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name: string; timezone: string; zones: { id: string; capacity: number }[]; gates: { id: string }[] };
    expect(body).toMatchObject({ name: 'Expo 2026 (day 2)', timezone: 'Europe/Berlin' });
    expect(body.zones.find((z) => z.id === 'hall')?.capacity).toBe(800);
    expect(body.gates.map((g) => g.id)).toEqual(['north', 'south', 'vipdoor']);

    // Projected before the answer: the replica has it at once (bound generous for a loaded machine).
    await gate.until((doc) => readMeta(doc)?.gates.some((g) => g.id === 'south') === true && readMeta(doc)?.name === 'Expo 2026 (day 2)', 2000);
    expect(readMeta(gate.doc)?.zones.find((z) => z.id === 'hall')?.capacity).toBe(800);

    const [entry] = await listAudit(t.backends.store.db, { event: 'expo', limit: 1 });
    expect(entry).toMatchObject({ actor: 'ana', role: 'staff', action: 'event.update', target: 'expo', before: { name: 'Expo 2026' }, after: { name: 'Expo 2026 (day 2)' } });
  });

  it('refuses to remove a gate or zone that has scans, saying why, and changes nothing', async () => {
    const gate = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'south' }));
    open.push(gate);
    gate.scan({ code: 'T1', gate: 'south' });
    // The hub derives the scan's check-in row; wait for it through the summary, not a sleep.
    await until(async () => ((await (await t.api('/api/v1/events/expo/checkins/summary', { claims: { role: 'staff' } })).json()) as { byGate: Record<string, unknown> }).byGate.south !== undefined);

    const current = (await (await t.api('/api/v1/events/expo', { claims: admin })).json()) as { zones: { id: string }[]; gates: { id: string }[] };
    const withoutSouth = await t.api('/api/v1/events/expo', { method: 'PATCH', claims: admin, ...json({ name: 'Changed', gates: current.gates.filter((g) => g.id !== 'south') }) });
    expect(withoutSouth.status).toBe(409);
    expect(await withoutSouth.json()).toEqual({ error: 'conflict', message: 'gate "south" cannot be removed: 1 scan at this gate' });

    // Moving the gate elsewhere is allowed; removing the zone its scan went into is not.
    const moved = current.gates.map((g) => (g.id === 'south' ? { ...g, zone: 'hall' } : g));
    const withoutTerrace = await t.api('/api/v1/events/expo', { method: 'PATCH', claims: admin, ...json({ zones: current.zones.filter((z) => z.id !== 'terrace'), gates: moved }) });
    expect(withoutTerrace.status).toBe(409);
    expect(((await withoutTerrace.json()) as { message: string }).message).toBe('zone "terrace" cannot be removed: 1 scan into this zone');

    const after = (await (await t.api('/api/v1/events/expo', { claims: admin })).json()) as { name: string; gates: { id: string; zone: string }[] };
    expect(after.name).toBe('Expo 2026 (day 2)');
    expect(after.gates.find((g) => g.id === 'south')?.zone).toBe('terrace');
  });

  it('validates: unknown time zone, a gate into a missing zone, an empty patch, wrong roles', async () => {
    const bad = async (claims: { role: 'admin' | 'staff' | 'gate'; events: string[] }, body: unknown) =>
      (await t.api('/api/v1/events/other', { method: 'PATCH', claims, ...json(body) })).status;
    expect(await bad(admin, { timezone: 'Mars/Olympus' })).toBe(400);
    expect(await bad(admin, {})).toBe(400);
    expect(await bad(admin, { gates: [{ id: 'g', name: 'G', zone: 'nowhere' }] })).toBe(409);
    expect(await bad({ role: 'gate', events: ['other'] }, { name: 'x' })).toBe(403);
    expect(await bad({ role: 'staff', events: ['expo'] }, { name: 'x' })).toBe(403);
    expect((await t.api('/api/v1/events/ghost', { method: 'PATCH', claims: admin, ...json({ name: 'x' }) })).status).toBe(404);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
