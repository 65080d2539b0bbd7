/**
 * The opshub server under test: a real `Hub` (uWS transport, auth, permission table, topic relay) on its embedded
 * backends (PGlite and chDB in the driver's temp DATA_DIR), or on Redis for cross-hub, publishing through the real
 * path, `bus.publish(topic, data)`, in-process, the way a stream module does.
 *
 * Environment (set by the driver): BENCH_SECRET, BENCH_EVENT, BENCH_DATA_DIR, and BENCH_REDIS_URL with
 * BENCH_KEY_PREFIX for a hub on Redis; BENCH_HUB_WORKERS for socket worker threads (HUB_WORKERS; unset: one thread);
 * BENCH_PGLITE_TEMPLATE for a database started from that template (unset or empty: created as in production).
 */
import { join } from 'node:path';
import type { AnalyticsClient } from '@opshub/hub/analytics/analytics-client';
import { createAnalytics } from '@opshub/hub/analytics/create-analytics';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import type { Bus } from '@opshub/hub/bus/bus';
import { silentBusLog } from '@opshub/hub/bus/bus-log';
import { MemoryBus } from '@opshub/hub/bus/memory/memory-bus';
import { Hub } from '@opshub/hub/hub';
import { createLogger } from '@opshub/hub/log';
import { PgliteStore } from '@opshub/hub/store/pglite/pglite-store';
import { requireEnv } from './env.ts';
import { runServer } from './server-runtime.ts';

const secret = requireEnv('BENCH_SECRET');
const event = requireEnv('BENCH_EVENT');
const dataDir = requireEnv('BENCH_DATA_DIR');
const redisUrl = process.env.BENCH_REDIS_URL;
const hubWorkers = Number(process.env.BENCH_HUB_WORKERS ?? 1);

const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn');
const bus: Bus = redisUrl
  ? new (await import('@opshub/hub/bus/redis/redis-bus')).RedisBus({ url: redisUrl, keyPrefix: requireEnv('BENCH_KEY_PREFIX'), log: silentBusLog })
  : new MemoryBus({ log: silentBusLog });
// BENCH_PGLITE_TEMPLATE: the run's migrated empty database, for every server but the shared one. That one is created
// as in production (initdb in a worker that exits): idle-memory reads its RSS, and a template-loaded database kept
// handing memory back while the connections opened (RSS slope -1.2 KiB per connection in two runs, against +4.1
// without it).
const store = new PgliteStore({ dataDir, template: process.env.BENCH_PGLITE_TEMPLATE || undefined });
const hub = new Hub({
  backends: { bus, store, analytics: createAnalytics({ dataDir }) },
  verifier: hs256Verifier(secret),
  log,
  host: '127.0.0.1',
  port: 0,
  workers: hubWorkers > 1 ? { count: hubWorkers, auth: { kind: 'hs256', secret } } : undefined,
});
// RSS around each step of the start: what PGlite and chDB add is memory no JavaScript object shows (WASM and a
// native library), so it is read as the growth of the whole process while each one opens.
const gc = (globalThis as { gc?: () => void }).gc;
const marks: { step: string; rss: number; heap: number }[] = [];
const mark = (step: string) => {
  gc?.();
  const m = process.memoryUsage();
  marks.push({ step, rss: m.rss, heap: m.heapTotal });
};
const { port } = await hub.start((step) => mark(step));
mark('started');
/** growth of RSS beyond the V8 heap's own growth from the step starting with `prefix` to the next */
const grew = (prefix: string) => {
  const i = marks.findIndex((m) => m.step.startsWith(prefix));
  if (i < 0 || i + 1 >= marks.length) return Number.NaN;
  return marks[i + 1]!.rss - marks[i]!.rss - (marks[i + 1]!.heap - marks[i]!.heap);
};
const startup = redisUrl ? undefined : { pglite: grew('opening the database'), chdb: grew('starting analytics') };
let failures = 0;

/**
 * A reading client on the hub's chDB folder (it shares the engine the hub runs: one chDB per process), opened at the
 * first reading so every reading includes its own small cost. chDB's memory is what its allocator tracks
 * (`MemoryTracking`): a native library no JavaScript object shows.
 */
let chdbReader: Promise<AnalyticsClient> | undefined;
async function chdbTrackedBytes(): Promise<number> {
  chdbReader ??= import('@opshub/hub/analytics/chdb-client').then((m) => m.createChdbClient({ path: join(dataDir, 'clickhouse') }));
  const result = await (await chdbReader).query({ query: "SELECT value FROM system.metrics WHERE metric = 'MemoryTracking'", format: 'JSONEachRow' });
  const [row] = (await result.json()) as { value: string | number }[];
  return Number(row?.value ?? Number.NaN);
}

runServer({
  port,
  publish(channel, payload) {
    bus.publish(`event/${event}/${channel}`, payload).catch((err: unknown) => {
      if (failures++ === 0) log.error({ err }, 'bench publish failed');
    });
  },
  connections: () => hub.connections,
  close: () => hub.close(),
  ...(startup && { startup }),
  ...(!redisUrl && {
    async parts() {
      const pglite = await store.memory();
      return { pgliteWasm: pglite?.wasmBytes ?? Number.NaN, pgliteHeap: pglite?.heapUsedBytes ?? Number.NaN, chdb: await chdbTrackedBytes() };
    },
  }),
});
