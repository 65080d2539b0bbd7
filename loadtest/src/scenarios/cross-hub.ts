import { Redis } from 'ioredis';
import { nowMs } from '../core/payload.ts';
import { medianOf } from '../core/stats.ts';
import { ClientPool } from '../driver/client-pool.ts';
import { RedisUnavailableError, type BenchRedis } from '../driver/redis.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { ServerHandle } from '../driver/server-handle.ts';
import type { Target } from '../driver/targets.ts';
import { assertConnected, latency, measureWindow } from './measure.ts';
import type { Figures, Metric, Scenario } from './scenario.ts';

const CHANNEL = 'announcements';
const RATE = 20;

const metrics: readonly Metric[] = [
  { key: 'localP50', label: 'p50, subscribers on the publishing hub', unit: 'ms', better: 'lower' },
  { key: 'remoteP50', label: 'p50, subscribers on the other hub', unit: 'ms', better: 'lower' },
  { key: 'remoteP99', label: 'p99, subscribers on the other hub', unit: 'ms', better: 'lower' },
  { key: 'hopP50', label: 'p50 added by the second hop (other − publishing)', unit: 'ms', better: 'lower' },
  { key: 'lost', label: 'messages lost, both hubs up', unit: '', better: 'lower' },
  { key: 'backP50', label: 'kill -9 one hub: its clients back on the other, p50', unit: 'ms', better: 'lower' },
  { key: 'backMax', label: 'kill -9 one hub: all its clients back', unit: 'ms', better: 'lower' },
  { key: 'lostAfterKill', label: 'kill -9: messages lost', unit: '', better: 'lower' },
  { key: 'duplicatesAfterKill', label: 'kill -9: messages duplicated', unit: '', better: 'lower' },
  { key: 'resumedPct', label: 'kill -9: clients back with nothing lost or doubled', unit: '%', better: 'higher' },
];

/**
 * cross-hub: two server processes on one Redis (a per-run key prefix), a publisher on hub A, half the subscribers
 * on A and half on B. First the latency the second hop adds and any loss; then `kill -9` B while A keeps
 * publishing: B's clients reconnect to A (opshub resumes with `since`; socket.io tries connection-state
 * recovery), and the bench times their return and counts what they lost or got twice.
 */
export const crossHub: Scenario = {
  name: 'cross-hub',
  summary: 'two hubs on one Redis: second-hop latency, loss; kill -9 one hub: time back, lost, duplicated',
  async prestart(ctx) {
    const redis = await ctx.redis().catch(() => undefined);
    if (!redis) return;
    await Promise.all(
      [ctx.baseline, ctx.opshub].flatMap((target) => [ctx.prestart(target, { slot: 0, redis, label: 'a' }), ctx.prestart(target, { slot: 1, redis, label: 'b' })]),
    );
  },
  async run(ctx) {
    let redis: BenchRedis;
    try {
      redis = await ctx.redis();
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      return { metrics, opshub: {}, baseline: {}, notes: [`skipped: ${error.message}`] };
    }
    const subscribers = ctx.count(1000, 200);
    const notes = [`${subscribers} subscribers, half on each hub; publisher on hub A at ${RATE} msg/s; Redis ${redis.origin === 'started' ? 'started by the bench' : 'at ' + redis.url}.`];
    try {
      const baseline = await measureTarget(ctx, ctx.baseline, redis, subscribers);
      const opshub = await measureTarget(ctx, ctx.opshub, redis, subscribers);
      notes.push(
        baseline.recovered === 0
          ? `${ctx.baseline.label}: connection-state recovery was switched on, and 0 sessions were recovered: @socket.io/redis-adapter does not implement it (its adapter keeps no session store; restoreSession() answers null), so clients re-joined their room and missed what was sent meanwhile.`
          : `${ctx.baseline.label}: ${baseline.recovered} sessions recovered by connection-state recovery.`,
        `opshub: clients resubscribed on hub A with since = the last seq they saw.`,
      );
      notes.push(
        `kill -9 to clients noticing (p50): opshub ${Math.round(opshub.droppedP50!)} ms, ${ctx.baseline.label} ${Math.round(baseline.droppedP50!)} ms; the kernel closes a killed process's sockets only after unmapping its memory, and an opshub hub holds PGlite and chDB. Both clients then wait 50–150 ms before reconnecting (socket.io-client's schedule).`,
      );
      for (const figures of [baseline, opshub]) {
        delete figures.recovered;
        delete figures.droppedP50;
      }
      return { metrics, opshub, baseline, notes, baselineName: `${ctx.baseline.label} + @socket.io/redis-adapter` };
    } finally {
      await deleteKeys(redis.url, `bench:${ctx.runId}:*`);
    }
  },
};

async function measureTarget(ctx: RunContext, target: Target, redis: BenchRedis, subscribers: number): Promise<Figures> {
  const start = (slot: 0 | 1) => ctx.startServer(target, { slot, redis, label: slot === 0 ? 'a' : 'b' });
  // A failed start must not leave its sibling running: settle both, then throw.
  ctx.log(`cross-hub ${target.label}: starting two servers on Redis`);
  const [a, firstB] = await bothOrNeither(start(0), start(1));
  let b = firstB;
  const runs: Figures[] = [];
  try {
    // Half the run's repeats, rounded up (one in a full run): every repeat restarts hub B after its kill -9, and one
    // round already times each of its 500 clients failing over (p50 and max are over them).
    for (let repeat = 0; repeat < Math.ceil(ctx.repeats / 2); repeat++) {
      if (repeat > 0) b = await start(1);
      const clients = await ctx.clients(`cross-${target.name}`);
      try {
        runs.push(await oneRound(ctx, target, a, b, clients, subscribers));
        const r = runs.at(-1)!;
        ctx.log(`cross-hub ${target.label} #${repeat + 1}: hop +${r.hopP50!.toFixed(2)} ms; kill -9: back in ${Math.round(r.backMax!)} ms, lost ${r.lostAfterKill}, doubled ${r.duplicatesAfterKill}`);
      } finally {
        await clients.close();
      }
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  return medianOf(runs);
}

async function oneRound(ctx: RunContext, target: Target, a: ServerHandle, b: ServerHandle, clients: ClientPool, subscribers: number): Promise<Figures> {
  const half = Math.floor(subscribers / 2);
  assertConnected(
    'cross-hub',
    await clients.connect(
      await ctx.plan(target, [
        { label: 'local', count: subscribers - half, channel: CHANNEL, url: a.url },
        { label: 'remote', count: half, channel: CHANNEL, url: b.url, failoverUrl: a.url },
      ]),
    ),
  );
  const channels = [{ channel: CHANNEL, rate: RATE }];
  const bytes = ctx.options.payloadBytes;
  await measureWindow(a, clients, channels, ctx.ms(1000, 300), bytes, 5000); // warm-up

  const steady = await measureWindow(a, clients, channels, ctx.ms(3000, 600), bytes, 5000);
  const local = latency(steady.clients.groups.get('local')!.histogram);
  const remote = latency(steady.clients.groups.get('remote')!.histogram);

  // kill -9 hub B early in a publishing window on A.
  await clients.reset();
  const publishing = a.publish({ channels, durationMs: ctx.ms(4000, 1500), payloadBytes: bytes });
  await new Promise((resolve) => setTimeout(resolve, ctx.ms(1000, 400)));
  const killedAt = nowMs();
  await b.kill9();
  const published = await publishing;
  const drain = await clients.drain(published.last, 15_000);
  const window = await clients.collect();
  const recovery = await clients.recovery(killedAt, published.last);

  if (recovery.dropped === 0) throw new Error(`cross-hub: killing hub B dropped no connection`);
  const lostAfterKill = window.all.gaps + drain.missing;
  const duplicates = window.all.duplicates;
  return {
    localP50: local.p50,
    remoteP50: remote.p50,
    remoteP99: remote.p99,
    hopP50: remote.p50 - local.p50,
    lost: steady.lost,
    backP50: recovery.backMs[Math.floor(recovery.backMs.length / 2)] ?? Number.NaN,
    droppedP50: recovery.droppedMs[Math.floor(recovery.droppedMs.length / 2)] ?? Number.NaN,
    backMax: recovery.back === recovery.dropped ? (recovery.backMs.at(-1) ?? Number.NaN) : Number.POSITIVE_INFINITY,
    lostAfterKill,
    duplicatesAfterKill: duplicates,
    resumedPct: (100 * recovery.complete) / recovery.dropped,
    recovered: recovery.recovered,
  };
}

async function bothOrNeither(a: Promise<ServerHandle>, b: Promise<ServerHandle>): Promise<[ServerHandle, ServerHandle]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return [ra.value, rb.value];
  await Promise.all([ra, rb].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
  throw ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason;
}

/** Removes the run's keys (opshub keeps topic history for a day): a bench run leaves the shared Redis as it found it. */
async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // best effort: the keys expire on their own
  } finally {
    redis.disconnect();
  }
}
