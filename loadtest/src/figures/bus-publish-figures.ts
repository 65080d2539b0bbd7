/**
 * Publish throughput of the Redis bus with many active topics, on one Redis and on a Redis Cluster, started here from
 * the machine's redis-server (the same flags for both: loopback, no persistence): the `redis-cluster` bench scenario
 * runs this in a process of its own and reads the `FIGURES {json}` line it prints.
 *
 *   tsx loadtest/src/figures/bus-publish-figures.ts --mode single|cluster [--replicas 1] --topics 500 --ms 5000 --inflight 64
 *
 * One bus publishes (`inflight` publishes outstanding, topics round robin); a second bus, as another hub would, is
 * subscribed to every topic and counts what arrives. Figures: acknowledged publishes per second, publish p50/p99,
 * deliveries per second at the subscriber, and messages missing or out of order there (must be 0).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '@opshub/deploy/local/free-port';
import { LocalRedisCluster } from '@opshub/deploy/local/redis-cluster';
import { startRedisNode } from '@opshub/deploy/local/redis-server';
import { silentBusLog } from '@opshub/hub/bus/bus-log';
import { RedisBus } from '@opshub/hub/bus/redis/redis-bus';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    topics: { type: 'string', default: '500' },
    ms: { type: 'string', default: '5000' },
    inflight: { type: 'string', default: '64' },
    payload: { type: 'string', default: '200' },
    replicas: { type: 'string', default: '1' },
  },
});
const mode = values.mode;
if (mode !== 'single' && mode !== 'cluster') throw new Error('--mode single|cluster');
const topicCount = Number(values.topics);
const durationMs = Number(values.ms);
const inflight = Number(values.inflight);
const payload = { text: 'x'.repeat(Math.max(0, Number(values.payload) - 12)) };

const dir = await mkdtemp(join(tmpdir(), 'opshub-bus-figures-'));
let url: string;
let stopRedis: () => Promise<unknown>;
if (mode === 'single') {
  const port = await freePort();
  const server = await startRedisNode({ port, dir });
  url = `redis://127.0.0.1:${port}`;
  stopRedis = () => server.stop('SIGKILL');
} else {
  const cluster = await LocalRedisCluster.start({ primaries: 3, replicasPerPrimary: Number(values.replicas), nodeTimeoutMs: 5000 });
  url = cluster.url;
  stopRedis = () => cluster.close();
}

try {
  const keyPrefix = `bench:${Date.now().toString(36)}:`;
  const publisher = new RedisBus({ url, keyPrefix, log: silentBusLog });
  const subscriber = new RedisBus({ url, keyPrefix, log: silentBusLog });
  await Promise.all([publisher.start(), subscriber.start()]);
  const topics = Array.from({ length: topicCount }, (_, i) => `event/bench${i % 50}/chat/room${i}`);
  const lastSeq = new Map<string, number>();
  let delivered = 0;
  let disorder = 0;
  for (const topic of topics) {
    await subscriber.subscribe(topic, (m) => {
      delivered++;
      if (m.seq !== (lastSeq.get(m.topic) ?? 0) + 1) disorder++;
      lastSeq.set(m.topic, m.seq);
    });
  }
  // Warm-up: every topic once (scripts loaded on every primary, connections open), not measured.
  // A bus that just started may still be learning the cluster: retry a refused warm-up publish, as a hub's client would.
  let warmupRetries = 0;
  for (const topic of topics) {
    for (let attempt = 1; ; attempt++) {
      try {
        await publisher.publish(topic, payload);
        break;
      } catch (err) {
        if (attempt >= 20) throw err;
        warmupRetries++;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  const latencies: number[] = [];
  const acked = new Map<string, number>();
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const deliveredBefore = delivered;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < deadline) {
        const topic = topics[next++ % topics.length]!;
        const t0 = performance.now();
        try {
          const { seq } = await publisher.publish(topic, payload);
          latencies.push(performance.now() - t0);
          acked.set(topic, Math.max(acked.get(topic) ?? 0, seq));
        } catch {
          failed++;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  // Every acknowledged publish must arrive at the subscriber.
  const drainDeadline = performance.now() + 10_000;
  const missing = () => topics.reduce((sum, t) => sum + Math.max(0, (acked.get(t) ?? 0) - (lastSeq.get(t) ?? 0)), 0);
  while (missing() > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  const deliveredMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  const figures = {
    publishesPerSec: Math.round(latencies.length / (elapsedMs / 1000)),
    publishP50Ms: Math.round(pct(0.5) * 100) / 100,
    publishP99Ms: Math.round(pct(0.99) * 100) / 100,
    deliveriesPerSec: Math.round((delivered - deliveredBefore) / (deliveredMs / 1000)),
    missing: missing(),
    disorder,
    failed,
    warmupRetries,
  };
  process.stdout.write(`FIGURES ${JSON.stringify(figures)}\n`);
  await Promise.all([publisher.close(), subscriber.close()]);
} finally {
  await stopRedis();
  await rm(dir, { recursive: true, force: true });
}
