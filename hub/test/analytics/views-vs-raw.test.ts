import { mkdtempSync, rmSync } from 'node:fs';
import { rawZoneDeltasSql } from './raw-zone-deltas.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { ClickHouseAnalytics } from '../../src/analytics/clickhouse-analytics.ts';
import { OccupancyDeltas, type MinuteDeltas } from '../../src/analytics/dashboards/occupancy-deltas.ts';
import { generateTraffic, planZones, trafficPlan } from './traffic.ts';

// The incremental aggregates (the views, filled per insert block, and the occupancy history kept and advanced per
// request) against a plain GROUP BY over the raw events table, on generated event-day traffic recorded in two halves.
// The raw queries are the straightforward answers, written independently of the views' SQL.

const dir = mkdtempSync(join(tmpdir(), 'opshub-views-raw-'));
let analytics: ClickHouseAnalytics;
const plan = trafficPlan({ events: 40_000, tickets: 300, meanGapMs: 20_000, seed: 23 });
const traffic = [...generateTraffic(plan)];
const half = Math.floor(traffic.length / 2);
const zones = planZones(plan);

beforeAll(async () => {
  // small batches: many blocks, so a view that summed per block and not per key would show it
  analytics = new ClickHouseAnalytics({ kind: 'chdb', client: () => createChdbClient({ path: join(dir, 'clickhouse') }), batchSize: 3_000 });
  await analytics.start();
});
afterAll(async () => {
  await analytics.close();
  rmSync(dir, { recursive: true, force: true });
});

const q = <Row>(sql: string) => analytics.query<Row>(sql, { event: plan.event });

async function compareViews(): Promise<void> {
  const visits = (sql: string) => q<{ zone: string; exhibitor: string; minute: string; n: string }>(sql);
  const view = await visits(`SELECT zone, exhibitor, toString(minute) AS minute, toString(sum(visits)) AS n FROM zone_visits_1m WHERE event = {event:String} GROUP BY zone, exhibitor, minute ORDER BY zone, exhibitor, minute`);
  const raw = await visits(`SELECT zone, exhibitor, toString(toStartOfMinute(ts)) AS minute, toString(count()) AS n FROM events WHERE event = {event:String} AND kind IN ('scan.in.admitted', 'lead.captured', 'lead.rescanned') GROUP BY zone, exhibitor, minute ORDER BY zone, exhibitor, minute`);
  expect(view.length).toBeGreaterThan(100);
  expect(view).toEqual(raw);

  const engagement = (sql: string) => q<Record<string, string>>(sql);
  expect(
    await engagement(`SELECT session, toString(minute) AS minute, toString(sum(votes)) AS v, toString(sum(questions)) AS qs, toString(sum(upvotes)) AS u, toString(sum(chats)) AS c FROM session_engagement_1m WHERE event = {event:String} GROUP BY session, minute ORDER BY session, minute`),
  ).toEqual(
    await engagement(`SELECT if(kind = 'chat.message', JSONExtractString(properties, 'room'), session) AS session, toString(toStartOfMinute(ts)) AS minute,
       toString(countIf(kind = 'poll.vote')) AS v, toString(countIf(kind = 'qa.question')) AS qs, toString(countIf(kind = 'qa.upvote')) AS u, toString(countIf(kind = 'chat.message')) AS c
     FROM events WHERE event = {event:String} AND kind IN ('poll.vote', 'qa.question', 'qa.upvote', 'chat.message') GROUP BY session, minute ORDER BY session, minute`),
  );

  const visitors = (sql: string) => q<{ zone: string; exhibitor: string; n: string }>(sql);
  expect(await visitors(`SELECT zone, exhibitor, toString(uniqExact(ticket)) AS n FROM zone_visitors WHERE event = {event:String} GROUP BY zone, exhibitor ORDER BY zone, exhibitor`)).toEqual(
    await visitors(`SELECT zone, exhibitor, toString(uniqExact(ticket)) AS n FROM events WHERE event = {event:String} AND kind IN ('scan.in.admitted', 'lead.captured', 'lead.rescanned') GROUP BY zone, exhibitor ORDER BY zone, exhibitor`),
  );
}

/** Occupancy change per zone and minute straight from the raw table: each admitted scan paired with the ticket's previous one. */
async function rawMinuteDeltas(): Promise<MinuteDeltas> {
  const rows = await q<{ zone: string; minute: string; net: string }>(
    `SELECT zone, toString(bucket) AS minute, toString(delta) AS net FROM (${rawZoneDeltasSql(60_000)}) WHERE delta != 0`,
  );
  const deltas: MinuteDeltas = new Map();
  for (const r of rows) {
    if (!deltas.has(r.zone)) deltas.set(r.zone, new Map());
    deltas.get(r.zone)!.set(Number(r.minute), Number(r.net));
  }
  return deltas;
}

const sorted = (deltas: MinuteDeltas) =>
  [...deltas].filter(([, m]) => m.size > 0).map(([zone, m]) => [zone, [...m].sort((a, b) => a[0] - b[0])] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));

it('the views and the kept occupancy history equal a GROUP BY over the raw events, after each half of a day', async () => {
  let now = traffic[half]!.ts + 120_000;
  const occupancy = new OccupancyDeltas(analytics, { now: () => now });
  const end = traffic[traffic.length - 1]!.ts + 3_600_000;

  for (const event of traffic.slice(0, half)) analytics.record(event);
  await analytics.flush();
  await compareViews();
  // first request: the whole settled history paired in the engine
  expect(sorted(await occupancy.minuteDeltas(plan.event, zones, end))).toEqual(sorted(await rawMinuteDeltas()));

  for (const event of traffic.slice(half)) analytics.record(event);
  await analytics.flush();
  await compareViews();
  // later request: the kept state advanced over the new scans only
  now = end + 120_000;
  expect(sorted(await occupancy.minuteDeltas(plan.event, zones, end))).toEqual(sorted(await rawMinuteDeltas()));
  const [{ n }] = (await q<{ n: string }>('SELECT toString(count()) AS n FROM events WHERE event = {event:String}')) as [{ n: string }];
  expect(Number(n)).toBe(traffic.length);
});
