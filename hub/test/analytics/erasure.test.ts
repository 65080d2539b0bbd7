import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analytics, AnalyticsEvent, OutboxBatch } from '../../src/analytics/analytics.ts';
import { createAnalytics } from '../../src/analytics/create-analytics.ts';
import { zoneHeatmap } from '../../src/analytics/dashboards/heatmaps.ts';
import { OccupancyDeltas } from '../../src/analytics/dashboards/occupancy-deltas.ts';
import { sponsorSummary } from '../../src/analytics/dashboards/sponsor-summary.ts';
import { OutboxRelay } from '../../src/analytics/outbox-relay.ts';
import { PgliteStore } from '../../src/store/pglite/pglite-store.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { requestErasure } from '../../src/store/repos/analytics-erasure-repo.ts';
import { recordAnalytics } from '../../src/store/repos/analytics-outbox-repo.ts';
import type { Store } from '../../src/store/store.ts';
import { describeWithService } from '../support/services.ts';
import { expectedBooth, expectedOccupancy, expectedSessionTotals } from './expected.ts';
import { generateTraffic, planZones, trafficPlan } from './traffic.ts';

/**
 * GDPR erasure of one attendee's analytics (issue 14, item 5), on real chDB and a real Store (PGlite, and PostgreSQL
 * where DATABASE_URL is set), through the outbox and the relay as the hub runs them.
 *
 * The attendee's events are in every state an event can be in when the request comes: stored in ClickHouse and in
 * every view; in a batch ClickHouse stored but the relay never recorded (it died), which the next relay sends again;
 * and still waiting in the outbox. Afterwards no table, view, dashboard or export returns one of them, and every
 * total is the exact replay of everyone else's events: it dropped by exactly theirs.
 */
let dir: string;
let analytics: Analytics;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opshub-erasure-'));
  analytics = createAnalytics({ dataDir: dir });
  await analytics.start();
}, 60_000);

afterAll(async () => {
  await analytics?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('analytics erasure on PGlite', () => {
  let store: Store;
  beforeAll(async () => {
    store = new PgliteStore({ template: process.env.PGLITE_TEMPLATE });
    await store.start();
  }, 60_000);
  afterAll(() => store?.close());

  it('after deleting one attendee\'s analytics, no query returns their events, and the totals drop by exactly theirs', () => eraseOneAttendee(store, 'erase-pglite'), 180_000);
  it('deleting an event\'s analytics leaves nothing of it, and other events untouched', () => eraseWholeEvent(store, 'erase-whole-pglite'), 120_000);
});

describeWithService('DATABASE_URL', 'analytics erasure on PostgreSQL', (url) => {
  const schema = `erasure_${Date.now().toString(36)}_${process.pid}`;
  let store: Store;
  beforeAll(async () => {
    store = new PostgresStore({ url, schema });
    await store.start();
  }, 180_000);
  afterAll(async () => {
    await store?.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });

  it('after deleting one attendee\'s analytics, no query returns their events, and the totals drop by exactly theirs', () => eraseOneAttendee(store, 'erase-postgres'), 180_000);
});

function relayOn(store: Store, options: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}): OutboxRelay {
  const relay = new OutboxRelay({ store, analytics, pollMs: 20, backlogEveryMs: 50, retryBaseMs: 20, retryMaxMs: 200, retentionMs: 10 * 365 * 86_400_000, ...options });
  relay.start();
  return relay;
}

async function write(store: Store, events: readonly AnalyticsEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 1_000) await store.db.transaction().execute((trx) => recordAnalytics(trx, events.slice(i, i + 1_000)));
}

/** Totals of every table and view for `event`: what the dashboards add up. */
async function totals(event: string): Promise<Record<string, number>> {
  const one = async (query: string) => Number(((await analytics.query<{ n: string }>(query, { event }))[0]?.n ?? 0));
  return {
    events: await one('SELECT count() AS n FROM events WHERE event = {event:String}'),
    distinctOids: await one('SELECT uniqExact(oid) AS n FROM events WHERE event = {event:String}'),
    scans: await one('SELECT count() AS n FROM zone_scans WHERE event = {event:String}'),
    visits: await one('SELECT sum(visits) AS n FROM zone_visits_1m WHERE event = {event:String}'),
    visitors: await one('SELECT count() AS n FROM (SELECT DISTINCT zone, exhibitor, ticket FROM zone_visitors WHERE event = {event:String})'),
    engagement: await one('SELECT sum(votes + questions + upvotes + chats) AS n FROM session_engagement_1m WHERE event = {event:String}'),
  };
}

/** The same totals worked out from the events themselves. */
function expectedTotals(events: readonly AnalyticsEvent[]): Record<string, number> {
  const visitKinds = new Set(['scan.in.admitted', 'lead.captured', 'lead.rescanned']);
  const visitors = new Set(events.filter((e) => visitKinds.has(e.kind)).map((e) => `${e.zone}|${e.exhibitor ?? ''}|${e.ticket}`));
  const engagement = [...expectedSessionTotals(events).values()].reduce((n, t) => n + t.votes + t.questions + t.upvotes + t.chats, 0);
  return {
    events: events.length,
    distinctOids: events.length,
    scans: events.filter((e) => e.kind === 'scan.in.admitted' || e.kind === 'scan.out.admitted').length,
    visits: events.filter((e) => visitKinds.has(e.kind)).length,
    visitors: visitors.size,
    engagement,
  };
}

async function eraseOneAttendee(store: Store, event: string): Promise<void> {
  const plan = trafficPlan({ events: 20_000, tickets: 200, seed: 14, event });
  const zones = planZones(plan);
  const all = [...generateTraffic(plan)];
  // The busiest attendee: scans, badge scans at booths, votes, questions and chat (their ticket is their actor here).
  const perTicket = new Map<string, number>();
  for (const e of all) if (e.ticket) perTicket.set(e.ticket, (perTicket.get(e.ticket) ?? 0) + 1);
  const victim = [...perTicket].sort((a, b) => b[1] - a[1])[0]![0];
  const isVictims = (e: AnalyticsEvent) => e.ticket === victim || e.actor === victim;
  const theirs = all.filter(isVictims);
  const rest = all.filter((e) => !isVictims(e));
  expect(new Set(theirs.map((e) => e.kind.split('.')[0]))).toEqual(new Set(['scan', 'lead', 'poll', 'qa', 'chat']));

  // 1. Most of the day is stored, in the table and every view; the dashboards have warmed their occupancy state.
  const shipped = Math.floor(all.length * 0.7);
  await write(store, all.slice(0, shipped));
  const first = relayOn(store);
  await first.drain();
  await first.close();
  expect(await totals(event)).toEqual(expectedTotals(all.slice(0, shipped)));
  const warm = new OccupancyDeltas(analytics);
  const from = Math.floor(all[0]!.ts / 300_000) * 300_000;
  const to = Math.ceil((all.at(-1)!.ts + 1) / 300_000) * 300_000;
  const request = { event, bucket: '5m' as const, bucketMs: 300_000, from, to };
  const rows = zones.map((id) => ({ id, label: id }));
  await zoneHeatmap(analytics, warm, request, rows, zones);

  // 2. The rest is written; a relay stores the first batch of it in ClickHouse and dies before recording that.
  await write(store, all.slice(shipped));
  const tokens: string[] = [];
  let died!: () => void;
  const death = new Promise<void>((resolve) => (died = resolve));
  const dying = relayOn(store, {
    batchSize: 2_000,
    analytics: {
      relayTarget: () => analytics.relayTarget(),
      erase: (erasure) => analytics.erase(erasure),
      async ingest(batch: OutboxBatch) {
        tokens.push(batch.token);
        await analytics.ingest(batch);
        died();
        throw new Error('killed after ClickHouse accepted the batch');
      },
    },
  });
  await death;
  await dying.close();
  const inFlight = all.slice(shipped, shipped + 2_000);
  expect(inFlight.some(isVictims)).toBe(true);
  expect((await totals(event)).events).toBe(shipped + 2_000);

  // 3. The erasure: their rows leave the outbox at once, with the request.
  const erasure = await store.db.transaction().execute((trx) => requestErasure(trx, { event, tickets: [victim], actors: [victim], by: 'dpo' }));
  expect(erasure.outboxRows).toBe(theirs.length);
  const { rows: left } = await sql<{ n: string | number }>`select count(*) as n from analytics_outbox where event_id = ${event} and (ticket = ${victim} or actor = ${victim})`.execute(store.db);
  expect(Number(left[0]!.n)).toBe(0);

  // 4. The next relay sends the dead one's batch again (same token), applies the erasure, ships the rest.
  const next = relayOn(store, {
    batchSize: 2_000,
    analytics: { relayTarget: () => analytics.relayTarget(), erase: (e) => analytics.erase(e), ingest: (b) => (tokens.push(b.token), analytics.ingest(b)) },
  });
  await next.drain();
  expect(await next.erased(erasure.id, 1_000)).toBe(true);
  expect(tokens[1]).toBe(tokens[0]);

  // No query returns their events: not the table, not a view, not the export.
  const params = { event, victim };
  const found = await analytics.query<Record<string, string>>(
    `SELECT
       (SELECT count() FROM events WHERE event = {event:String} AND (ticket = {victim:String} OR actor = {victim:String})) AS raw,
       (SELECT count() FROM zone_scans WHERE event = {event:String} AND tk = cityHash64({victim:String})) AS scans,
       (SELECT count() FROM zone_visitors WHERE event = {event:String} AND ticket = {victim:String}) AS visitors`,
    params,
  );
  expect(found).toEqual([{ raw: '0', scans: '0', visitors: '0' }]);
  const csv = await text(await analytics.exportEvents(event, 'csv'));
  expect(csv.includes(victim)).toBe(false);
  expect(csv.trimEnd().split('\n').length).toBe(rest.length + 1);

  // The totals dropped by exactly theirs, in every table and view.
  const after = await totals(event);
  const everyone = expectedTotals(all);
  const theirTotals = Object.fromEntries(Object.entries(everyone).map(([k, v]) => [k, v - expectedTotals(rest)[k]!]));
  expect(theirTotals.events).toBe(theirs.length);
  expect(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, everyone[k]! - v]))).toEqual(theirTotals);
  expect(after).toEqual(expectedTotals(rest));

  // And the dashboards: the zone heatmap (from a cold state and from the state warmed before the erasure) and a booth's summary.
  const want = expectedOccupancy(rest, zones, from, to, 300_000);
  expect((await zoneHeatmap(analytics, new OccupancyDeltas(analytics), request, rows, zones)).values).toEqual(want);
  expect((await zoneHeatmap(analytics, warm, request, rows, zones)).values).toEqual(want);
  const booths = plan.booths.map((b) => ({ id: b.exhibitor, name: b.exhibitor, zone: b.zone, sponsor: 'acme' }));
  const summary = await sponsorSummary(analytics, { event, sponsor: { id: 'acme', name: 'Acme' }, booths, sessions: [...plan.sessions], leads: new Map() });
  for (const [i, booth] of booths.entries()) {
    const expected = expectedBooth(rest, booth);
    expect({ visits: summary.booths[i]!.visits, unique: summary.booths[i]!.uniqueVisitors }).toEqual({ visits: expected.visits, unique: expected.visitors.size });
  }
  const sessions = expectedSessionTotals(rest);
  for (const s of summary.sessions) expect(s.interactions).toBe(Object.values(sessions.get(s.session) ?? {}).reduce((n, v) => n + v, 0));
  await next.close();
}

async function eraseWholeEvent(store: Store, event: string): Promise<void> {
  const other = `${event}-kept`;
  const gone = [...generateTraffic(trafficPlan({ events: 5_000, seed: 3, event }))];
  const kept = [...generateTraffic(trafficPlan({ events: 3_000, seed: 4, event: other }))];
  await write(store, [...gone, ...kept]);
  const relay = relayOn(store);
  await relay.drain();
  expect(await totals(event)).toEqual(expectedTotals(gone));
  const erasure = await store.db.transaction().execute((trx) => requestErasure(trx, { event, tickets: [], actors: [], by: 'ops' }));
  expect(erasure.outboxRows).toBe(gone.length);
  await relay.drain();
  expect(await totals(event)).toEqual({ events: 0, distinctOids: 0, scans: 0, visits: 0, visitors: 0, engagement: 0 });
  expect(await totals(other)).toEqual(expectedTotals(kept));
  // Written after the request: not its business, and stored as usual.
  const later: AnalyticsEvent = { ts: Date.now(), event, kind: 'poll.vote', actor: 'late', session: 'keynote' };
  await write(store, [later]);
  await relay.drain();
  expect((await totals(event)).events).toBe(1);
  const parquet = Buffer.concat(await chunks(await analytics.exportEvents(event, 'parquet')));
  expect(parquet.subarray(0, 4).toString()).toBe('PAR1');
  await relay.close();
}

async function chunks(stream: AsyncIterable<Buffer | string>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(Buffer.from(chunk));
  return out;
}

async function text(stream: AsyncIterable<Buffer | string>): Promise<string> {
  return Buffer.concat(await chunks(stream)).toString('utf8');
}
