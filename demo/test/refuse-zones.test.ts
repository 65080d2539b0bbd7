/**
 * The demo tells the truth (issue 12 item 7): the demo's own attendee simulator, run hard against a real hub process
 * and real edge agents on a small venue (rooms of 2 to 10 places with a `refuse` policy, a hall that `warn`s).
 * People arrive, walk between rooms and leave; rooms fill up and answer `zone_full`; a steward overrides now and then.
 * Replaying every recorded scan in timeline order (as every replica orders them), no `refuse` room ever holds more
 * people than its capacity plus the overrides admitted into it so far, and every override is on record.
 */
import { AdmissionTimeline, type ScanRecord } from '@opshub/replica';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EdgeFleet, until } from '../../hub/test/gates/edge-fleet.ts';
import { minter } from '../../hub/test/support/test-hub.ts';
import { TestClient, type Frame } from '../../hub/test/support/ws-client.ts';
import { AttendeeSimulator } from '../src/attendee-simulator.ts';
import { demoEvent, demoRoster, mainZone } from '../src/demo-event.ts';

// The demo's own venue (its zones, policies and doors), shrunk to rooms of 2 to 10 places so they fill within
// seconds; the south entrance is left out (one entrance keeps the fleet small on a loaded machine).
const smallCapacity: Record<string, number> = { 'hall-a': 40, 'hall-b': 10, vip: 2, workshop: 6 };
const venue = {
  ...demoEvent,
  name: 'Small venue',
  zones: demoEvent.zones.map((z) => ({ ...z, capacity: smallCapacity[z.id]! })),
  gates: demoEvent.gates.filter((g) => g.id !== 'south'),
};
const refusing = venue.zones.filter((z) => z.enforce === 'refuse');
const zoneOfGate = (gate: string) => venue.gates.find((g) => g.id === gate)?.zone;
// 200 tickets: 10 VIP (the only ones the lounge admits), 14 workshop, the rest general.
const roster = demoRoster(200);

let fleet: EdgeFleet;
let watcher: TestClient;

beforeAll(async () => {
  fleet = await EdgeFleet.create('demo');
  // Generous: a machine shared with other work can take long to open chDB and PGlite.
  await fleet.startHub({}, 170_000);
  expect((await fleet.api('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(venue) })).status).toBe(201);
  const imported = await fleet.api('/api/v1/events/demo/tickets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(roster) });
  expect(await imported.json()).toMatchObject({ accepted: roster.length });
  for (const gate of venue.gates) await fleet.startAgent(gate.id, gate.id);
  for (const gate of venue.gates) await until(() => fleet.status(gate.id), (s) => s.online && s.tickets === roster.length, `${gate.id} synced`, 30_000);
  // Every check-in from the first: subscribed before anyone arrives.
  watcher = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'auditor', role: 'staff', events: ['demo'] }));
  expect(await watcher.subscribe('event/demo/checkins')).toMatchObject({ op: 'ok' });
}, 300_000);

afterAll(async () => {
  await watcher?.close();
  await fleet?.close();
});

it('never holds more people in a refuse zone than its capacity, except by recorded overrides', async () => {
  const url = (id: string) => fleet.agents.get(id)!.url;
  const simulator = new AttendeeSimulator(
    roster,
    {
      main: { zone: mainZone, entrances: [{ id: 'north', url: url('north') }] },
      rooms: venue.gates.filter((g) => g.zone !== mainZone).map((g) => ({ zone: g.zone, door: { id: g.id, url: url(g.id) } })),
    },
    // Hard: everyone in within seconds, each person on the move every few seconds, rooms full most of the time.
    { peakPerSecond: 15, rampSeconds: 2, tickMs: 200, movePerSecond: 0.25, exitPerSecond: 0.01, overrideShare: 0.02, maxPerTick: 5 },
  );
  simulator.start();
  // Until every room has turned someone away (once proves it was full: the VIP lounge, 2 places for 10 VIP tickets,
  // refuses rarely; CI saw it at 2 of 3 after 3,384 scans) and some steward overrode, or 200 s (a loaded machine is slower, not wrong:
  // in CI beside the bench driver's run of every scenario, 120 s was not enough).
  await until(
    async () => simulator.stats,
    (s) => refusing.every((z) => (s.refused[z.id] ?? 0) >= 1 && (s.entries[z.id] ?? 0) >= 5) && Object.keys(s.overrides).length >= 1 && s.scans >= 600,
    'every room filled and refused',
    200_000,
  ).finally(() => simulator.stop());
  // Let scans in flight finish, then wait until the hub has published every scan the gates recorded.
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const gate of venue.gates) await until(() => fleet.status(gate.id), (s) => s.online && s.pending === 0, `${gate.id} drained`, 30_000);
  // Every replica holds the same scans once the hub has relayed each gate's to the others.
  const counts = async () => Promise.all(venue.gates.map(async (g) => (await fleet.status(g.id)).scans));
  const recorded = (await until(counts, (c) => c.every((n) => n === c[0]), 'replicas converged', 30_000))[0]!;
  const scans = new Map<string, ScanRecord>();
  await until(
    async () => {
      for (const f of watcher.messages('event/demo/checkins') as (Frame & { data: ScanRecord & { correction?: boolean } })[]) {
        if (f.data.correction) continue;
        const { scanId, code, gate, device, dir, at, verdict, override } = f.data;
        scans.set(scanId, { scanId, code, gate, device, dir, at, verdict, ...(override ? { override } : {}) });
      }
      return scans.size;
    },
    (n) => n >= recorded,
    `every recorded scan published (${recorded})`,
    30_000,
  );

  // Every zone saw traffic.
  for (const zone of venue.zones) expect(simulator.stats.entries[zone.id] ?? 0, zone.id).toBeGreaterThan(0);
  // Replayed in timeline order: occupancy of each refuse zone after every scan.
  const timeline = new AdmissionTimeline(zoneOfGate);
  const overrides: Record<string, number> = {};
  const peak: Record<string, number> = {};
  const ordered = [...scans.values()].sort((a, b) => a.at - b.at || (a.scanId < b.scanId ? -1 : a.scanId > b.scanId ? 1 : 0));
  for (const scan of ordered) {
    timeline.add(scan);
    const zone = zoneOfGate(scan.gate)!;
    if (scan.override && scan.verdict === 'admitted' && scan.dir === 'in') overrides[zone] = (overrides[zone] ?? 0) + 1;
    for (const z of refusing) {
      const inside = timeline.insideZone(z.id);
      peak[z.id] = Math.max(peak[z.id] ?? 0, inside);
      expect(inside, `${z.id} after ${scan.scanId} (${scan.dir} ${scan.code} at ${scan.gate})`).toBeLessThanOrEqual(z.capacity + (overrides[z.id] ?? 0));
    }
  }
  // Every room was really full (the property was tested, not avoided), and every override on record is one a steward
  // made at that zone's door.
  // (A room's door refuses from its own replica, whose count errs high while a departure recorded at another gate is
  // on its way; so a refusal can come one short of the timeline's capacity, rarely more.)
  for (const z of refusing) expect(peak[z.id], `${z.id} came to capacity`).toBeGreaterThanOrEqual(z.capacity - 1);
  expect(Object.values(overrides).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  for (const [zone, n] of Object.entries(overrides)) expect(n, `overrides at ${zone}`).toBeLessThanOrEqual(simulator.stats.overrides[zone] ?? 0);
  // The hub's own figure agrees once everything is in.
  const summary = (await (await fleet.api('/api/v1/events/demo/checkins/summary')).json()) as { byZone: Record<string, { inside: number }> };
  for (const z of refusing) expect(summary.byZone[z.id]?.inside ?? 0).toBe(timeline.insideZone(z.id));
  console.log(`refuse zones: ${refusing.map((z) => `${z.id} peak ${peak[z.id]}/${z.capacity} (+${overrides[z.id] ?? 0} overrides)`).join(', ')}; ${scans.size} scans, ${JSON.stringify(simulator.stats.refused)} zone_full`);
}, 300_000);
