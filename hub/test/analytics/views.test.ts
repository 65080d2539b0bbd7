import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { ClickHouseAnalytics } from '../../src/analytics/clickhouse-analytics.ts';
import { expectedBooth, expectedSessionTotals } from './expected.ts';
import { failingClient } from './failing-client.ts';
import { generateTraffic, trafficPlan } from './traffic.ts';
import { until } from './until.ts';

const dir = mkdtempSync(join(tmpdir(), 'opshub-views-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('keeps every materialized view exact when a batch that was stored is retried', async () => {
  // The first two inserts reach the engine (events and every view) and are then reported failed: the retries carry the
  // same deduplication token, and each view must skip the block it already has, as `events` does.
  const client = failingClient(createChdbClient({ path: join(dir, 'clickhouse') }), { after: 2 });
  const analytics = new ClickHouseAnalytics({ kind: 'chdb', client: () => client, batchSize: 4_000, flushMs: 20, retryBaseMs: 1, retryMaxMs: 20 });
  await analytics.start();
  const plan = trafficPlan({ events: 20_000, seed: 99, event: 'views' });
  const events = [...generateTraffic(plan)];
  for (const e of events) analytics.record(e);
  await until(() => analytics.stats().queued === 0, { what: 'the queue to drain through retries' });
  expect(analytics.stats()).toMatchObject({ inserted: 20_000, failures: 2 });
  expect([...client.tokens.values()].sort()).toEqual([1, 1, 1, 1, 3]);

  const one = async (sql: string) => Number(Object.values((await analytics.query<Record<string, string>>(sql, { event: 'views' }))[0]!)[0]);
  const admitted = events.filter((e) => e.kind === 'scan.in.admitted' || e.kind === 'scan.out.admitted').length;
  expect(await one('SELECT count() FROM zone_scans WHERE event = {event:String}')).toBe(admitted);
  const visits = events.filter((e) => e.kind === 'scan.in.admitted' || e.kind === 'lead.captured' || e.kind === 'lead.rescanned').length;
  expect(await one('SELECT sum(visits) FROM zone_visits_1m WHERE event = {event:String}')).toBe(visits);
  const booth = plan.booths[0]!;
  expect(await one(`SELECT uniqExact(ticket) FROM zone_visitors WHERE event = {event:String} AND ((zone = '${booth.zone}' AND exhibitor = '') OR exhibitor = '${booth.exhibitor}')`)).toBe(
    expectedBooth(events, { id: booth.exhibitor, zone: booth.zone }).visitors.size,
  );
  const sessions = expectedSessionTotals(events);
  const rows = await analytics.query<{ session: string; votes: string; questions: string; upvotes: string; chats: string }>(
    'SELECT session, sum(votes) AS votes, sum(questions) AS questions, sum(upvotes) AS upvotes, sum(chats) AS chats FROM session_engagement_1m WHERE event = {event:String} GROUP BY session',
    { event: 'views' },
  );
  expect(new Map(rows.map((r) => [r.session, { votes: Number(r.votes), questions: Number(r.questions), upvotes: Number(r.upvotes), chats: Number(r.chats) }]))).toEqual(sessions);
  await analytics.close();
});
