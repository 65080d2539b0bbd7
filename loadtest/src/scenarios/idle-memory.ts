import { join } from 'node:path';
import { median, medianOf } from '../core/stats.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { ServerStats } from '../core/specs.ts';
import type { ServerHandle } from '../driver/server-handle.ts';
import type { Target } from '../driver/targets.ts';
import { assertConnected } from './measure.ts';
import type { Figures, Scenario } from './scenario.ts';

/** Connections are opened in this many equal batches; memory per connection is the median slope between readings. */
const BATCHES = 5;
const MiB = 1024 * 1024;

/**
 * idle-memory: N authenticated connections, each subscribed to one topic (an attendee's phone with the
 * announcements open), no traffic, opened in batches on a server no client had touched. Memory per connection is
 * the median slope of RSS and of the JS heap (each read after a full GC) between the batches' readings, not one
 * before/after difference: a process that starts with memory it freed but still holds (PGlite's and chDB's
 * start-up) lets its first connections reuse it, which flattered one difference and does not bend a slope much.
 * The hub's memory at idle is split into the V8 heap, PGlite, chDB and the rest (native: uWS, Node, code).
 */
export const idleMemory: Scenario = {
  name: 'idle-memory',
  summary: 'N authenticated idle connections in batches: memory per connection (heap and RSS slopes), the hub\'s memory split',
  async prestart(ctx) {
    await Promise.all([ctx.shared(ctx.baseline), ctx.shared(ctx.opshub)]);
  },
  async run(ctx) {
    const connections = ctx.count(10_000, 1000);
    const baseline = await measureTarget(ctx, ctx.baseline, connections);
    const opshub = await measureTarget(ctx, ctx.opshub, connections);
    const notes = [
      `${connections} connections in ${BATCHES} batches from ${ctx.localAddresses.length} loopback source addresses; RSS and heap read after a full GC after each batch; per connection = the median of the slopes between consecutive batch readings (robust to start-up memory a hub hands back in one step meanwhile; the idle reading, taken once the server's RSS stopped falling, gives the split below).`,
      'The split: PGlite and chDB are the RSS the hub grew (beyond its V8 heap) while each opened, read around the steps of Hub.start; they hold WASM memory and a native library that no JavaScript object shows. The rest is RSS minus those and the heap.',
    ];
    for (const [label, figures] of [[ctx.opshub.label, opshub], [ctx.baseline.label, baseline]] as const) {
      if (figures.rssPerConnectionKiB! < figures.heapPerConnectionKiB!) {
        notes.push(`${label}: the RSS slope is below the heap slope: the process was still returning start-up memory while the connections opened, so read the heap slope as the per-connection cost.`);
      }
    }
    return {
      metrics: [
        { key: 'rssPerConnectionKiB', label: 'server RSS per connection (slope over batches)', unit: 'KiB', better: 'lower' },
        { key: 'heapPerConnectionKiB', label: 'server JS heap per connection (slope over batches)', unit: 'KiB', better: 'lower' },
        { key: 'rssPer10kMiB', label: 'server RSS per 10,000 connections', unit: 'MiB', better: 'lower' },
        { key: 'connectPerSec', label: 'connect + authenticate + subscribe rate', unit: '/s', better: 'higher' },
        { key: 'idleRssMiB', label: 'server RSS at idle, no connection', unit: 'MiB', better: 'lower' },
        { key: 'idleHeapMiB', label: '  of which V8 heap (used)', unit: 'MiB', better: 'lower' },
        { key: 'idlePgliteMiB', label: '  of which PGlite (RSS grown while it opened)', unit: 'MiB', better: 'lower' },
        { key: 'idleChdbMiB', label: '  of which chDB (RSS grown while it started)', unit: 'MiB', better: 'lower' },
        { key: 'idleOtherMiB', label: '  of which native and other (Node, uWS, code, allocator)', unit: 'MiB', better: 'lower' },
      ],
      opshub,
      baseline,
      notes,
    };
  },
};

/**
 * The server's stats once its RSS stops falling (two readings a second apart within 1 MiB), or at `maxMs`: a hub
 * just started is still handing back what PGlite and chDB used to open (measured at load 25: RSS fell by about 415 MiB
 * while the first 10,000 connections were opened, a slope of −42 KiB per connection).
 */
async function settled(server: ServerHandle, maxMs: number): Promise<ServerStats> {
  const deadline = performance.now() + maxMs;
  let last = await server.stats(true);
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await server.stats(true);
    const settledNow = now.rss > last.rss - MiB;
    last = now;
    if (settledNow) break;
  }
  return last;
}

/**
 * The median of the slopes between consecutive readings. Why not least squares: a hub hands back start-up memory
 * in one step at a moment of its own (30 MiB at once, seconds after its RSS looked steady, 2026-12-04); one such step
 * inside the batches tipped a least-squares slope below zero (−1.9 to +0.7 KiB per connection over four runs),
 * while it moves only one of the four steps the median is taken over (+0.1 to +0.9 over three runs). The hub's RSS
 * slope still reads below its heap slope: its allocator serves the connections from memory PGlite and chDB freed
 * at start but that is still resident, which no slope can tell apart; the notes then point to the heap slope.
 */
export function medianStepSlope(points: readonly { x: number; y: number }[]): number {
  const steps = points.slice(1).map((p, i) => (p.y - points[i]!.y) / (p.x - points[i]!.x));
  return steps.length === 0 ? Number.NaN : median(steps);
}

/**
 * Half the run's repeats, rounded up (a full run: one fresh server per side). Why: each repeat is a fresh server (a
 * hub's start is PGlite and chDB) and 10,000 more connections, the slowest part of the full run (525 of 3,090 s at
 * load 20–34, 2026-12-04); and each figure is already a median over 4 steps between batches, which one repeat's
 * noise moves less than it moved a before/after difference.
 */
const repeatsOf = (ctx: RunContext) => Math.ceil(ctx.repeats / 2);

async function measureTarget(ctx: RunContext, target: Target, connections: number): Promise<Figures> {
  const runs: Figures[] = [];
  for (let repeat = 0; repeat < repeatsOf(ctx); repeat++) {
    const { server, release } = await ctx.pristine(target);
    server.used = true;
    // Two workers even on one client core: ten thousand socket.io-client instances are heavy for one heap.
    const clients = await ctx.clients(`idle-${target.name}`, Math.max(2, ctx.layout.clientCores));
    try {
      const idle = await settled(server, ctx.ms(30_000, 5000));
      // Slopes between the batches' readings only: the step from idle to the first batch also holds what the first
      // connections set up once (buffers, pools).
      const rss: { x: number; y: number }[] = [];
      const heap: { x: number; y: number }[] = [];
      let connectMs = 0;
      const batch = Math.ceil(connections / BATCHES);
      for (let open = 0; open < connections; ) {
        const count = Math.min(batch, connections - open);
        const report = await clients.connect(await ctx.plan(target, [{ label: 'all', count, channel: 'announcements', url: server.url }]));
        assertConnected('idle-memory', report);
        connectMs += report.ms;
        open += count;
        await new Promise((resolve) => setTimeout(resolve, ctx.ms(500, 200)));
        const now = await server.stats(true);
        if (now.connections < open) throw new Error(`idle-memory: the server counts ${now.connections} connections, expected ${open}`);
        rss.push({ x: open, y: now.rss });
        heap.push({ x: open, y: now.heapUsed });
      }
      if (ctx.options.profileDir && repeat === 0) await server.heapSnapshot(join(ctx.options.profileDir, `idle-${target.name}-${connections}.heapsnapshot`));
      const pglite = idle.startup?.pglite ?? Number.NaN;
      const chdb = idle.startup?.chdb ?? Number.NaN;
      const figures: Figures = {
        rssPerConnectionKiB: medianStepSlope(rss) / 1024,
        heapPerConnectionKiB: medianStepSlope(heap) / 1024,
        rssPer10kMiB: (medianStepSlope(rss) * 10_000) / MiB,
        connectPerSec: connections / (connectMs / 1000),
        idleRssMiB: idle.rss / MiB,
        idleHeapMiB: idle.heapUsed / MiB,
        idlePgliteMiB: pglite / MiB,
        idleChdbMiB: chdb / MiB,
        idleOtherMiB: (idle.rss - idle.heapUsed - (Number.isFinite(pglite) ? pglite : 0) - (Number.isFinite(chdb) ? chdb : 0)) / MiB,
      };
      ctx.log(`idle-memory ${target.label} #${repeat + 1}: ${figures.rssPerConnectionKiB!.toFixed(2)} KiB RSS, ${figures.heapPerConnectionKiB!.toFixed(2)} KiB heap per connection; idle ${figures.idleRssMiB!.toFixed(0)} MiB`);
      runs.push(figures);
    } finally {
      await clients.close();
      await release();
    }
  }
  return medianOf(runs);
}
