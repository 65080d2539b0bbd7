/**
 * Analytics figures: ingest rate into chDB and dashboard query times over N generated events (default 10 million).
 * Not part of the default test suite (it takes minutes); the bench's `analytics` scenario runs it, or run it alone:
 *
 *   npx tsx hub/test/analytics/ingest-figures.ts                      # opshub's ingest, 10,000,000 events
 *   npx tsx hub/test/analytics/ingest-figures.ts --mode baseline      # the ingest as it was: JSONEachRow, 5,000-row batches
 *   npx tsx hub/test/analytics/ingest-figures.ts --events 1000000 --chunk 250000
 *   npx tsx hub/test/analytics/ingest-figures.ts --mode baseline --timed 3000000   # rate over the first 3M, then load the rest
 *   npx tsx hub/test/analytics/ingest-figures.ts --queries opshub,baseline         # time both dashboards' queries (default: the mode's)
 *
 * Ingest is timed from the first `record()` of a slice to its `flush()`; generating the events is not timed (they are
 * made in slices beforehand, so ten million never sit in memory at once). With `--timed N` only the first N events go
 * through the mode's ingest and are timed; the rest are loaded untimed, one TabSeparated insert per slice, into the
 * same tables, so both modes' queries still run over all the events. The rate is a steady-state figure (slices of 500,000
 * vary by a few per cent), and the baseline's ingest of ten million alone took over two minutes of a ten-minute bench. CPU is the whole process's (JS thread, the
 * engine's threads, background merges) per event, a figure a busy machine distorts far less than events per second.
 * Queries run after ingest once background merges have settled (up to 60 s), cold first, then four more: the median.
 * opshub's zone heatmap is first paired ahead, as the hub does at start (`zoneWarmup`, timed apart), then requested.
 * The last stdout line is `FIGURES {json}`.
 */
import { rawZoneDeltasSql } from './raw-zone-deltas.ts';
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
import { eventColumns, toEventLine, toEventRow } from '../../src/analytics/event-row.ts';
import { InsertBatcher } from '../../src/analytics/insert-batcher.ts';
import { clickhouseDdl } from '../../../schema/clickhouse/index.ts';
import { generateTraffic, planZones, trafficPlan } from './traffic.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    chunk: { type: 'string', default: '500000' },
    timed: { type: 'string' },
    queries: { type: 'string' },
    mode: { type: 'string', default: 'opshub' },
    dir: { type: 'string' },
  },
});
/** The zone heatmap's occupancy deltas straight from `events`: the pairing window must sort every scan. */
const RAW_ZONE_HEATMAP = rawZoneDeltasSql(300_000);

const RAW_SESSION_HEATMAP = `
SELECT room, intDiv(toUnixTimestamp64Milli(ts), 300000) * 300000 AS bucket, countIf(kind = 'poll.vote') AS votes, countIf(kind = 'qa.question') AS questions,
       countIf(kind = 'qa.upvote') AS upvotes, countIf(kind = 'chat.message') AS chats
FROM (SELECT ts, kind, if(kind = 'chat.message' AND session = '', JSONExtractString(properties, 'room'), session) AS room
      FROM events WHERE event = {event:String} AND kind IN ('poll.vote', 'qa.question', 'qa.upvote', 'chat.message'))
GROUP BY room, bucket`;

const total = Number(args.events);
const chunk = Number(args.chunk);
const timedEvents = Math.min(total, Number(args.timed ?? total));
const mode = args.mode === 'baseline' ? 'baseline' : 'opshub';
/** Which dashboards' queries to time afterwards: opshub's (views), the baseline's (raw table), both, or none (''). */
const querySets = (args.queries ?? mode).split(',').filter((q): q is 'opshub' | 'baseline' => q === 'opshub' || q === 'baseline');
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
while (done < timedEvents) {
  const slice: AnalyticsEvent[] = [];
  const size = Math.min(chunk, timedEvents - done);
  for (let next = traffic.next(); !next.done; next = slice.length < size ? traffic.next() : { done: true, value: undefined }) slice.push(next.value);
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
const timedDone = done;
const loadAfterIngest = loadavg()[0]!;
// The rest, untimed, straight into the same tables as one TabSeparated insert per slice (the views fill as usual).
if (done < total) {
  const loader = createChdbClient({ path });
  const started = performance.now();
  for (;;) {
    const lines: string[] = [];
    for (let next = traffic.next(); !next.done; next = lines.length < chunk ? traffic.next() : { done: true, value: undefined }) lines.push(toEventLine(next.value));
    if (lines.length === 0) break;
    const result = await loader.exec({ query: `INSERT INTO events (${eventColumns.join(', ')}) FORMAT TabSeparated`, values: Readable.from([lines.join('\n')], { objectMode: false }) });
    await finished(result.stream.resume());
    done += lines.length;
  }
  await loader.close();
  process.stderr.write(`loaded the remaining ${(done - timedDone).toLocaleString('en')} events untimed in ${Math.round(performance.now() - started)} ms\n`);
}

const event = plan.event;
const request = { event, bucket: '5m' as const, bucketMs: 300_000 };
const zones = planZones(plan).map((id) => ({ id, label: id }));
const queries: Partial<Record<'opshub' | 'baseline', Record<string, { coldMs: number; medianMs: number }>>> = {};
if (querySets.length > 0) await settleMerges(ingest);
// The raw-table queries first, so their first run is as cold as the views' first run.
if (querySets.includes('baseline')) {
  // Without the views: the same answers computed from the raw table.
  queries.baseline = {
    zoneHeatmap: await timed(() => ingest.query(RAW_ZONE_HEATMAP, { event })),
    sessionHeatmap: await timed(() => ingest.query(RAW_SESSION_HEATMAP, { event })),
  };
}
if (querySets.includes('opshub')) {
  // The first request pairs every scan in the engine; later ones reuse that and pair only what is new.
  const analytics = ingest as unknown as Analytics;
  const occupancy = new OccupancyDeltas(analytics);
  const booths = plan.booths.slice(0, 2).map((b) => ({ id: b.exhibitor, name: b.exhibitor, zone: b.zone, sponsor: 'alpha' }));
  // What the hub does at start once its relay has caught up (dashboards/warm-up.ts): pair the event's scan history
  // ahead of the first request. Timed apart: it is off the request path.
  const warmStarted = performance.now();
  await occupancy.minuteDeltas(event, zones.map((z) => z.id), Date.now());
  const warmupMs = Math.round(performance.now() - warmStarted);
  queries.opshub = {
    zoneWarmup: { coldMs: warmupMs, medianMs: warmupMs },
    zoneHeatmap: await timed(() => zoneHeatmap(analytics, occupancy, request, zones, zones.map((z) => z.id))),
    sessionHeatmap: await timed(() => sessionHeatmap(analytics, request)),
    sponsorSummary: await timed(() => sponsorSummary(analytics, { event, sponsor: { id: 'alpha', name: 'Alpha' }, booths, sessions: ['keynote'], leads: new Map() })),
  };
}
const [stored] = await ingest.query<{ n: string }>('SELECT count() AS n FROM events');
if (Number(stored?.n) !== done) throw new Error(`${done} events recorded but ${stored?.n} stored: the figures would be over the wrong data`);
const [scans] = await ingest.query<{ n: string }>('SELECT count() AS n FROM events WHERE event = {event:String} AND kind IN (\'scan.in.admitted\', \'scan.out.admitted\')', { event });
await ingest.close();
if (!args.dir) rmSync(dir, { recursive: true, force: true });

const figures = {
  mode,
  events: done,
  timedEvents: timedDone,
  admittedScans: Number(scans?.n ?? 0),
  ingest: { seconds: +(timedMs / 1000).toFixed(2), eventsPerSec: Math.round(timedDone / (timedMs / 1000)), cpuMicrosPerEvent: +(cpuMicros / timedDone).toFixed(2) },
  queries,
  loadAverage: { before: +loadBefore.toFixed(2), afterIngest: +loadAfterIngest.toFixed(2), end: +loadavg()[0]!.toFixed(2) },
};
process.stdout.write(`FIGURES ${JSON.stringify(figures)}\n`);
process.exit(0);

/** The hub's analytics as configured by default (Native blocks built column by column at record(), 100,000 events a block, staged for file(), a reader client). */
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
