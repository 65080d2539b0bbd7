import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { ClickHouseAnalytics } from '../../src/analytics/clickhouse-analytics.ts';
import { OccupancyDeltas, type MinuteDeltas } from '../../src/analytics/dashboards/occupancy-deltas.ts';
import { expectedOccupancy } from './expected.ts';
import { generateTraffic, planZones, trafficPlan } from './traffic.ts';

const dir = mkdtempSync(join(tmpdir(), 'opshub-occupancy-'));
let analytics: ClickHouseAnalytics;
let pairings = 0;
beforeAll(async () => {
  analytics = new ClickHouseAnalytics({ kind: 'chdb', client: () => createChdbClient({ path: join(dir, 'clickhouse') }), flushMs: 20 });
  await analytics.start();
});
afterAll(async () => {
  await analytics?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The analytics, counting the engine-side pairings (the costly full window) the cache asks for. */
const counted = {
  query: (sql: string, params?: Record<string, unknown>) => {
    if (sql.includes('lagInFrame')) pairings++;
    return analytics.query(sql, params);
  },
} as unknown as ClickHouseAnalytics;

/** People inside each zone at the end of each minute in [from, to), from the deltas. */
function occupancyOf(deltas: MinuteDeltas, zones: readonly string[], from: number, to: number): number[][] {
  return zones.map((zone) => {
    const byMinute = deltas.get(zone) ?? new Map<number, number>();
    let inside = 0;
    for (const [m, d] of byMinute) if (m < from) inside += d;
    const line: number[] = [];
    for (let m = from; m < to; m += 60_000) line.push((inside += byMinute.get(m) ?? 0));
    return line;
  });
}

const plan = trafficPlan({ events: 40_000, seed: 5, event: 'live', tickets: 400 });
const zones = planZones(plan);
const events = [...generateTraffic(plan)];
const from = Math.floor(events[0]!.ts / 60_000) * 60_000;
const end = Math.ceil((events.at(-1)!.ts + 1) / 60_000) * 60_000;
const middle = from + Math.floor((end - from) / 2 / 60_000) * 60_000;
/** everything recorded by the first test, in time order */
let recorded: AnalyticsEvent[] = [];

it('keeps the paired history, extends it as time passes, and rebuilds it when a late scan changes the past', async () => {
  let now = middle;
  const occupancy = new OccupancyDeltas(counted, { now: () => now, settleMs: 10 * 60_000 });
  const record = async (list: readonly AnalyticsEvent[]) => {
    for (const e of list) analytics.record(e);
    await analytics.flush();
  };
  const check = async (seen: readonly AnalyticsEvent[], to: number) => {
    const deltas = await occupancy.minuteDeltas(plan.event, zones, to);
    expect(occupancyOf(deltas, zones, from, to)).toEqual(expectedOccupancy(seen, zones, from, to, 60_000));
  };

  // The first half of the day so far: settled up to now - 10 min, the rest paired as a tail on every request.
  const firstHalf = events.filter((e) => e.ts < middle);
  await record(firstHalf);
  await check(firstHalf, middle);
  expect(pairings).toBe(1);
  await check(firstHalf, middle);
  expect(pairings).toBe(1);

  // Time passes and the rest arrives: the watermark moves on without pairing everything again.
  await record(events.filter((e) => e.ts >= middle));
  now = end + 60 * 60_000;
  await check(events, end);
  await check(events, middle + 30 * 60_000);
  expect(pairings).toBe(1);

  // A gate that was offline syncs an admission from long ago, before the watermark: the past changes, so it is rebuilt.
  const someone = events.find((e) => e.kind === 'scan.out.admitted')!;
  const late: AnalyticsEvent = { ...someone, ts: from + 5 * 60_000 + 123, kind: 'scan.in.admitted', zone: 'vip', properties: { scanId: 'late-1' } };
  await record([late]);
  const withLate = [...events, late].sort((a, b) => a.ts - b.ts);
  await check(withLate, end);
  expect(pairings).toBe(2);
  recorded = withLate;
});

it('keeps the history of some zones only: a ticket in another zone counts as outside them, built, extended and in the tail', async () => {
  expect(recorded.length).toBeGreaterThan(events.length);
  // Not in the plan's order, so a zone's position in the list is what names it.
  const some = ['vip', 'booth-2', 'hall-b'];
  let now = middle;
  const occupancy = new OccupancyDeltas(analytics, { now: () => now, settleMs: 10 * 60_000 });
  const check = async (to: number) => {
    const deltas = await occupancy.minuteDeltas(plan.event, some, to);
    expect([...deltas.keys()].every((zone) => some.includes(zone))).toBe(true);
    expect(occupancyOf(deltas, some, from, to)).toEqual(expectedOccupancy(recorded, some, from, to, 60_000));
  };
  await check(end);
  now = end + 60 * 60_000;
  await check(end);
});
