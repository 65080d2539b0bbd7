/**
 * Outbox figures: what exactly-once analytics costs. Not part of the test suite; the bench's `analytics-outbox`
 * scenario runs it, or run it alone:
 *
 *   npx tsx hub/test/analytics/outbox-figures.ts --mode outbox --events 1000000   # Store outbox → relay → chDB
 *   npx tsx hub/test/analytics/outbox-figures.ts --mode direct --events 1000000   # record() → in-memory batcher → chDB
 *
 * `outbox` (what the hub does now, on the embedded Store, PGlite): the events are written into the outbox in
 * transactions of 1,000 rows (untimed: the Store's bulk load is not what is measured), then the relay is started and
 * timed until it has drained them all into chDB; that rate is the ingest figure. The live path's cost is timed apart:
 * 2,000 transactions of one event each (a vote's analytics row), median and p99 in ms.
 * `direct` (the straightforward baseline, and what the hub did before the outbox): the in-memory batcher as it was then,
 * kept here as it was so the comparison does not move when `record()` gets faster: each event a TabSeparated line at
 * `record()`, 50,000-row batches sent through `exec`, one insert in flight. Timed from the first `record()` to `flush()`;
 * its live-path cost is `record()` itself, and what it loses on `kill -9` is whatever was queued.
 * The last stdout line is `FIGURES {json}`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createAnalytics } from '../../src/analytics/create-analytics.ts';
import { eventColumns, toEventLine } from '../../src/analytics/event-row.ts';
import { InsertBatcher } from '../../src/analytics/insert-batcher.ts';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { OutboxRelay } from '../../src/analytics/outbox-relay.ts';
import { PgliteStore } from '../../src/store/pglite/pglite-store.ts';
import { recordAnalytics } from '../../src/store/repos/analytics-outbox-repo.ts';
import { generateTraffic, trafficPlan } from './traffic.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, mode: { type: 'string', default: 'outbox' } } });
const total = Number(args.events);
const mode = args.mode === 'direct' ? 'direct' : 'outbox';
if (process.send) process.on('disconnect', () => process.exit(0));

const dir = mkdtempSync(join(tmpdir(), 'opshub-outbox-figures-'));
const analytics = createAnalytics({ dataDir: dir });
await analytics.start();
const plan = trafficPlan({ events: total, tickets: Math.max(50, Math.round(total / 400)), meanGapMs: 30_000, seed: 11 });
const events: AnalyticsEvent[] = [...generateTraffic(plan)];
const figures: Record<string, number> = {};

if (mode === 'outbox') {
  const store = new PgliteStore({ dataDir: join(dir, 'store'), template: process.env.PGLITE_TEMPLATE });
  await store.start();
  const loadStarted = performance.now();
  for (let i = 0; i < events.length; i += 1_000) {
    const slice = events.slice(i, i + 1_000);
    await store.db.transaction().execute((trx) => recordAnalytics(trx, slice));
  }
  process.stderr.write(`outbox loaded with ${total.toLocaleString('en')} events in ${Math.round(performance.now() - loadStarted)} ms (untimed)\n`);
  // The generated day lies in the past: keep it all (the default retention would prune it as it is shipped).
  const relay = new OutboxRelay({ store, analytics, retentionMs: 10 * 365 * 86_400_000 });
  const cpu = process.cpuUsage();
  const started = performance.now();
  relay.start();
  await relay.drain(600_000);
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  figures.eventsPerSec = Math.round(total / (ms / 1000));
  figures.cpuMicrosPerEvent = Number(((used.user + used.system) / total).toFixed(2));
  process.stderr.write(`relay drained ${total.toLocaleString('en')} events in ${Math.round(ms)} ms: ${figures.eventsPerSec.toLocaleString('en')}/s\n`);
  // The live path: one event per transaction, as a vote writes it, with the relay running beside it.
  const times: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = performance.now();
    await store.db.transaction().execute((trx) => recordAnalytics(trx, events[i]!));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  figures.liveWriteMs = Number(times[1_000]!.toFixed(3));
  figures.liveWriteP99Ms = Number(times[1_980]!.toFixed(3));
  await relay.drain();
  figures.lostOnKill = 0;
  await relay.close();
  await store.close();
} else {
  // The batcher as it was (see the header), on its own client of the same chDB.
  const client = createChdbClient({ path: join(dir, 'clickhouse') });
  const old = new InsertBatcher<string>({
    batchSize: 50_000,
    maxQueued: 200_000,
    insert: async (batch) => {
      const query = `INSERT INTO events (${eventColumns.join(', ')}) SETTINGS insert_deduplication_token = '${batch.token}', insert_deduplicate = 1, async_insert = 0, optimize_on_insert = 0 FORMAT TabSeparated`;
      const result = await client.exec({ query, values: Readable.from([batch.items.join('\n')], { objectMode: false }) });
      await finished(result.stream.resume());
    },
  });
  old.start();
  const oldAnalytics = { record: (e: AnalyticsEvent) => old.push(toEventLine(e)), flush: () => old.flush() };
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < events.length; i++) {
    oldAnalytics.record(events[i]!);
    if (i % 5_000 === 4_999) await new Promise((resolve) => setImmediate(resolve));
  }
  await oldAnalytics.flush();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  figures.eventsPerSec = Math.round(total / (ms / 1000));
  figures.cpuMicrosPerEvent = Number(((used.user + used.system) / total).toFixed(2));
  const times: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = performance.now();
    oldAnalytics.record(events[i]!);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  figures.liveWriteMs = Number(times[1_000]!.toFixed(3));
  figures.liveWriteP99Ms = Number(times[1_980]!.toFixed(3));
  await oldAnalytics.flush();
  await old.close({ deadlineMs: 5_000, abandoned: () => new Error('closed') });
  await client.close();
  // What a kill -9 loses: up to a full batch (50,000) plus what waits behind it, up to the queue bound (200,000).
  figures.lostOnKill = 50_000;
}
const [row] = await analytics.query<{ n: string; ids: string }>('SELECT count() AS n, uniqExact(oid) AS ids FROM events');
figures.stored = Number(row?.n ?? 0);
await analytics.close();
rmSync(dir, { recursive: true, force: true });
console.log(`FIGURES ${JSON.stringify({ mode, events: total, ...figures })}`);
// chDB's engine threads may keep the event loop alive after close: the figures are out, leave.
process.exit(0);
