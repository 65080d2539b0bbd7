/**
 * Analytics figures: ingest rate into chDB and dashboard query times over N generated events (default 10 million).
 * Not part of the default test suite (it takes minutes); the bench's `analytics` scenario runs it, or run it alone:
 *
 *   npx tsx hub/test/analytics/ingest-figures.ts                      # opshub's ingest, 10,000,000 events
 *   npx tsx hub/test/analytics/ingest-figures.ts --mode baseline      # the ingest as it was: JSONEachRow, 5,000-row batches
 *   npx tsx hub/test/analytics/ingest-figures.ts --events 1000000 --chunk 250000
 *
 * Ingest is timed from the first `record()` of a slice to its `flush()`; generating the events is not timed (they are
 * made in slices beforehand, so ten million never sit in memory at once). CPU is the whole process's (JS thread, the
 * engine's threads, background merges) per event, a figure a busy machine distorts far less than events per second.
 * Queries run after ingest once background merges have settled (up to 60 s), cold first, then four more: the median.
 * The last stdout line is `FIGURES {json}`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { Analytics, AnalyticsEvent } from '../../src/analytics/analytics.ts';
import type { AnalyticsClient } from '../../src/analytics/analytics-client.ts';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { ClickHouseAnalytics } from '../../src/analytics/clickhouse-analytics.ts';
import { sessionHeatmap, zoneHeatmap } from '../../src/analytics/dashboards/heatmaps.ts';
import { OccupancyDeltas } from '../../src/analytics/dashboards/occupancy-deltas.ts';
import { sponsorSummary } from '../../src/analytics/dashboards/sponsor-summary.ts';
import { toEventRow } from '../../src/analytics/event-row.ts';
import { InsertBatcher } from '../../src/analytics/insert-batcher.ts';
import { clickhouseDdl } from '../../../schema/clickhouse/index.ts';
import { generateTraffic, planZones, trafficPlan } from './traffic.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    chunk: { type: 'string', default: '500000' },
    mode: { type: 'string', default: 'opshub' },
    dir: { type: 'string' },
  },
});
/** The zone heatmap's occupancy deltas straight from `events`: the pairing window must sort every scan. */
const RAW_ZONE_HEATMAP = `
SELECT zone, bucket, sum(delta) AS delta FROM (
  SELECT intDiv(toUnixTimestamp64Milli(ts), 300000) * 300000 AS bucket,
         arrayJoin([(if(inside = 1, toString(scan_zone), ''), 1), (if(previous_inside = 1, toString(previous_zone), ''), -1)]) AS change,
         change.1 AS zone, change.2 AS delta
  FROM (
    SELECT ts, zone AS scan_zone, toUInt8(kind = 'scan.in.admitted') AS inside,
           lagInFrame(zone) OVER w AS previous_zone, lagInFrame(toUInt8(kind = 'scan.in.admitted'), 1, 0) OVER w AS previous_inside
    FROM events WHERE event = {event:String} AND kind IN ('scan.in.admitted', 'scan.out.admitted')
    WINDOW w AS (PARTITION BY ticket ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
  )
) WHERE zone != '' GROUP BY zone, bucket`;

const RAW_SESSION_HEATMAP = `
SELECT room, intDiv(toUnixTimestamp64Milli(ts), 300000) * 300000 AS bucket, countIf(kind = 'poll.vote') AS votes, countIf(kind = 'qa.question') AS questions,
       countIf(kind = 'qa.upvote') AS upvotes, countIf(kind = 'chat.message') AS chats
FROM (SELECT ts, kind, if(kind = 'chat.message' AND session = '', JSONExtractString(properties, 'room'), session) AS room
      FROM events WHERE event = {event:String} AND kind IN ('poll.vote', 'qa.question', 'qa.upvote', 'chat.message'))
GROUP BY room, bucket`;

const total = Number(args.events);
const chunk = Number(args.chunk);
const mode = args.mode === 'baseline' ? 'baseline' : 'opshub';
// Started by the bench driver: leave when it goes away.
if (process.send) process.on('disconnect', () => process.exit(0));

/** A recorder for one mode: what is timed is `record` of every event of a slice, then `flush`. */
interface Ingest {
  record(event: AnalyticsEvent): void;
  flush(): Promise<void>;
  query: Analytics['query'];
  close(): Promise<void>;
}

const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'opshub-figures-'));
const path = join(dir, 'clickhouse');
const ingest = mode === 'opshub' ? await opshubIngest() : await baselineIngest();

// About a fifth of the events are zone scans, one attendee per 400 events, 30 s between one attendee's actions:
// ten million events are ~25,000 attendees over ~3.3 hours.
const plan = trafficPlan({ events: total, tickets: Math.max(50, Math.round(total / 400)), meanGapMs: 30_000, seed: 7 });
const traffic = generateTraffic(plan);
const loadBefore = loadavg()[0]!;
let timedMs = 0;
let cpuMicros = 0;
let done = 0;
while (done < total) {
  const slice: AnalyticsEvent[] = [];
  for (let next = traffic.next(); !next.done; next = slice.length < chunk ? traffic.next() : { done: true, value: undefined }) slice.push(next.value);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < slice.length; i++) {
    ingest.record(slice[i]!);
    // Yield now and then, as a hub's event loop does between requests: the inserts run meanwhile.
    if (i % 5_000 === 4_999) await new Promise((resolve) => setImmediate(resolve));
  }
  await ingest.flush();
  timedMs += performance.now() - started;
  const used = process.cpuUsage(cpu);
  cpuMicros += used.user + used.system;
  done += slice.length;
  process.stderr.write(`ingested ${done.toLocaleString('en')} events, ${Math.round(done / (timedMs / 1000)).toLocaleString('en')}/s\n`);
}
const loadAfterIngest = loadavg()[0]!;

await settleMerges(ingest);
const event = plan.event;
const request = { event, bucket: '5m' as const, bucketMs: 300_000 };
const zones = planZones(plan).map((id) => ({ id, label: id }));
const queries: Record<string, { coldMs: number; medianMs: number }> = {};
if (mode === 'opshub') {
  // The first request pairs every scan in the engine; later ones reuse that and pair only what is new.
  const occupancy = new OccupancyDeltas(ingest as unknown as Analytics);
  queries.zoneHeatmap = await timed(() => zoneHeatmap(ingest as unknown as Analytics, occupancy, request, zones, zones.map((z) => z.id)));
  queries.sessionHeatmap = await timed(() => sessionHeatmap(ingest as unknown as Analytics, request));
  const booths = plan.booths.slice(0, 2).map((b) => ({ id: b.exhibitor, name: b.exhibitor, zone: b.zone, sponsor: 'alpha' }));
  queries.sponsorSummary = await timed(() => sponsorSummary(ingest as unknown as Analytics, { event, sponsor: { id: 'alpha', name: 'Alpha' }, booths, sessions: ['keynote'], leads: new Map() }));
} else {
  // Without the views: the same answers computed from the raw table.
  queries.zoneHeatmap = await timed(() => ingest.query(RAW_ZONE_HEATMAP, { event }));
  queries.sessionHeatmap = await timed(() => ingest.query(RAW_SESSION_HEATMAP, { event }));
}
const [scans] = await ingest.query<{ n: string }>('SELECT count() AS n FROM events WHERE event = {event:String} AND kind IN (\'scan.in.admitted\', \'scan.out.admitted\')', { event });
await ingest.close();
if (!args.dir) rmSync(dir, { recursive: true, force: true });

const figures = {
  mode,
  events: done,
  admittedScans: Number(scans?.n ?? 0),
  ingest: { seconds: +(timedMs / 1000).toFixed(2), eventsPerSec: Math.round(done / (timedMs / 1000)), cpuMicrosPerEvent: +(cpuMicros / done).toFixed(2) },
  queries,
  loadAverage: { before: +loadBefore.toFixed(2), afterIngest: +loadAfterIngest.toFixed(2), end: +loadavg()[0]!.toFixed(2) },
};
process.stdout.write(`FIGURES ${JSON.stringify(figures)}\n`);
process.exit(0);

/** The hub's analytics as configured by default (TabSeparated, 50,000-row batches, a reader client). */
async function opshubIngest(): Promise<Ingest> {
  const analytics = new ClickHouseAnalytics({ kind: 'chdb', client: () => createChdbClient({ path }), maxQueued: chunk + 1 });
  await analytics.start();
  return analytics;
}

/**
 * The ingest as it was before this work, on the same tables and views: one client, each event a JSONEachRow line built
 * at `record()`, 5,000-row batches, one insert in flight, the same deduplicated statement.
 */
async function baselineIngest(): Promise<Ingest> {
  const client: AnalyticsClient = createChdbClient({ path });
  for (const statement of await clickhouseDdl()) await client.command({ query: statement });
  const batcher = new InsertBatcher<string>({
    batchSize: 5_000,
    maxQueued: chunk + 1,
    insert: async (batch) => {
      const query = `INSERT INTO events SETTINGS insert_deduplication_token = '${batch.token}', insert_deduplicate = 1, async_insert = 0 FORMAT JSONEachRow`;
      const result = await client.exec({ query, values: Readable.from([batch.items.join('\n')], { objectMode: false }) });
      await finished(result.stream.resume());
    },
  });
  batcher.start();
  return {
    record: (e) => batcher.push(JSON.stringify(toEventRow(e))),
    flush: () => batcher.flush(),
    async query<Row>(sql: string, params: Record<string, unknown> = {}) {
      const result = await client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
      return (await result.json()) as Row[];
    },
    async close() {
      await batcher.close({ deadlineMs: 5_000, abandoned: () => new Error('closed') });
      await client.close();
    },
  };
}

async function timed(run: () => Promise<unknown>): Promise<{ coldMs: number; medianMs: number }> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  return { coldMs: Math.round(times[0]!), medianMs: Math.round((warm[1]! + warm[2]!) / 2) };
}

/** Waits (up to 60 s) until no background merge runs, so queries see the parts a steady hub would have. */
async function settleMerges(target: Ingest): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [row] = await target.query<{ n: string }>('SELECT count() AS n FROM system.merges');
    if (Number(row?.n ?? 0) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
