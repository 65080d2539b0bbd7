import { join } from 'node:path';
import { medianOf } from '../core/stats.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { Target } from '../driver/targets.ts';
import { assertConnected } from './measure.ts';
import type { Figures, Scenario } from './scenario.ts';

/**
 * idle-memory: N authenticated connections, each subscribed to one topic (an attendee's phone with the
 * announcements open), no traffic. Server RSS after minus before, over N, on a server no client had touched;
 * both readings after a full GC. Each repeat uses a fresh server.
 */
export const idleMemory: Scenario = {
  name: 'idle-memory',
  summary: 'N authenticated idle connections, one topic each: server RSS per connection',
  async prestart(ctx) {
    await Promise.all([ctx.shared(ctx.baseline), ctx.shared(ctx.opshub)]);
  },
  async run(ctx) {
    const connections = ctx.count(10_000, 1000);
    const baseline = await measureTarget(ctx, ctx.baseline, connections);
    const opshub = await measureTarget(ctx, ctx.opshub, connections);
    const notes = [`${connections} connections from ${ctx.localAddresses.length} loopback source addresses; RSS and heap read after a full GC.`];
    for (const [label, figures] of [[ctx.opshub.label, opshub], [ctx.baseline.label, baseline]] as const) {
      if (figures.rssPerConnectionKiB! < figures.heapPerConnectionKiB!) {
        notes.push(
          `${label}: RSS grew less than the JS heap. The process starts with memory it has freed but still holds (an opshub hub: PGlite's and chDB's start-up), and new connections reuse it, so the RSS figure understates; the heap figure is a floor for the JS part.`,
        );
      }
    }
    return {
      metrics: [
        { key: 'rssPerConnectionKiB', label: 'server RSS per connection', unit: 'KiB', better: 'lower' },
        { key: 'heapPerConnectionKiB', label: 'server JS heap per connection', unit: 'KiB', better: 'lower' },
        { key: 'connectPerSec', label: 'connect + authenticate + subscribe rate', unit: '/s', better: 'higher' },
      ],
      opshub,
      baseline,
      notes,
    };
  },
};

async function measureTarget(ctx: RunContext, target: Target, connections: number): Promise<Figures> {
  const runs: Figures[] = [];
  for (let repeat = 0; repeat < ctx.repeats; repeat++) {
    const { server, release } = await ctx.pristine(target);
    server.used = true;
    // Two workers even on one client core: ten thousand socket.io-client instances are heavy for one heap.
    const clients = await ctx.clients(`idle-${target.name}`, Math.max(2, ctx.layout.clientCores));
    try {
      const before = await server.stats(true);
      const report = await clients.connect(await ctx.plan(target, [{ label: 'all', count: connections, channel: 'announcements', url: server.url }]));
      assertConnected('idle-memory', report);
      await new Promise((resolve) => setTimeout(resolve, ctx.ms(1500, 300)));
      const after = await server.stats(true);
      if (after.connections < connections) throw new Error(`idle-memory: the server counts ${after.connections} connections, expected ${connections}`);
      if (ctx.options.profileDir && repeat === 0) await server.heapSnapshot(join(ctx.options.profileDir, `idle-${target.name}-${connections}.heapsnapshot`));
      const figures = {
        rssPerConnectionKiB: (after.rss - before.rss) / connections / 1024,
        heapPerConnectionKiB: (after.heapUsed - before.heapUsed) / connections / 1024,
        connectPerSec: connections / (report.ms / 1000),
      };
      ctx.log(`idle-memory ${target.label} #${repeat + 1}: ${figures.rssPerConnectionKiB.toFixed(2)} KiB RSS per connection`);
      runs.push(figures);
    } finally {
      await clients.close();
      await release();
    }
  }
  return medianOf(runs);
}
