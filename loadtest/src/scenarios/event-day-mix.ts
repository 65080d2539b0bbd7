import { medianOf } from '../core/stats.ts';
import type { ChannelRate } from '../core/specs.ts';
import type { RunContext } from '../driver/run-context.ts';
import { socketioLeanTarget, uwsTarget, type Target } from '../driver/targets.ts';
import { assertConnected, latency, measureWindow } from './measure.ts';
import type { Figures, Scenario } from './scenario.ts';

/** Chat rooms publish slowly each; the check-in counter on every control-room dashboard ticks fast. */
const ROOM_RATE = 1;
const BUSY_RATE = 10;
const BUSY = 'checkins';

/**
 * event-day mix: 50 chat topics × 100 subscribers, plus 2,000 dashboards on one busy topic (check-ins), at a
 * fixed, realistic load; publish→deliver percentiles over every delivery and on the busy topic alone, and the
 * server's event-loop lag while it runs.
 */
export const eventDayMix: Scenario = {
  name: 'event-day-mix',
  summary: '50 topics × 100 subscribers + 2,000 dashboards on one busy topic: latency and event-loop lag',
  async prestart(ctx) {
    await Promise.all([ctx.shared(ctx.baseline), ctx.shared(ctx.opshub), ctx.shared(uwsTarget)]);
  },
  async run(ctx) {
    const rooms = ctx.quick ? 10 : 50;
    const perRoom = ctx.count(100, 20);
    const dashboards = ctx.count(2000, 200);
    const channels: ChannelRate[] = [
      ...Array.from({ length: rooms }, (_, i) => ({ channel: `chat/r${i + 1}`, rate: ROOM_RATE })),
      { channel: BUSY, rate: BUSY_RATE },
    ];
    const load = rooms * perRoom * ROOM_RATE + dashboards * BUSY_RATE;
    const baseline = await measureTarget(ctx, ctx.baseline, channels, perRoom, dashboards);
    const opshub = await measureTarget(ctx, ctx.opshub, channels, perRoom, dashboards);
    const sameClient = await measureTarget(ctx, socketioLeanTarget, channels, perRoom, dashboards);
    const limit = await measureTarget(ctx, uwsTarget, channels, perRoom, dashboards);
    return {
      metrics: [
        { key: 'p50', label: 'p50 publish→deliver, all deliveries', unit: 'ms', better: 'lower' },
        { key: 'p99', label: 'p99 publish→deliver, all deliveries', unit: 'ms', better: 'lower' },
        { key: 'p999', label: 'p99.9 publish→deliver, all deliveries', unit: 'ms', better: 'lower' },
        { key: 'busyP99', label: 'p99 on the busy topic (dashboards)', unit: 'ms', better: 'lower' },
        { key: 'loopLagP99', label: 'server event-loop lag p99', unit: 'ms', better: 'lower' },
        { key: 'loopLagMax', label: 'server event-loop lag max', unit: 'ms', better: 'lower' },
        { key: 'serverCpu', label: 'server CPU', unit: '%', better: 'lower' },
        { key: 'lost', label: 'messages lost', unit: '', better: 'lower' },
      ],
      opshub,
      baseline,
      sameClient: { name: socketioLeanTarget.label, figures: sameClient },
      limit: { name: uwsTarget.label, figures: limit },
      notes: [
        `${rooms} topics × ${perRoom} subscribers at ${ROOM_RATE} msg/s each + ${dashboards} dashboards on one topic at ${BUSY_RATE} msg/s: ${load.toLocaleString('en-US')} deliveries/s, ${rooms * perRoom + dashboards} connections.`,
      ],
    };
  },
};

async function measureTarget(ctx: RunContext, target: Target, channels: readonly ChannelRate[], perRoom: number, dashboards: number): Promise<Figures> {
  const server = await ctx.shared(target);
  server.used = true;
  const clients = await ctx.clients(`mix-${target.key ?? target.name}`);
  try {
    const rooms = channels.filter((c) => c.channel !== BUSY);
    ctx.log(`event-day-mix ${target.label}: connecting ${rooms.length * perRoom + dashboards} subscribers`);
    assertConnected(
      'event-day-mix',
      await clients.connect(
        await ctx.plan(target, [
          ...rooms.map((c) => ({ label: 'rooms', count: perRoom, channel: c.channel, url: server.url })),
          { label: 'dashboards', count: dashboards, channel: BUSY, url: server.url },
        ]),
      ),
    );
    // 3 s windows: at the mix's 25,000 deliveries/s a window's percentiles are over 75,000 deliveries (its p99.9 over
    // the slowest 75); 5 s windows made the scenario a minute.
    const windowMs = ctx.ms(3000, 1000);
    await measureWindow(server, clients, channels, ctx.ms(1000, 300), ctx.options.payloadBytes, 5000); // warm-up
    const runs: Figures[] = [];
    for (let repeat = 0; repeat < ctx.repeats; repeat++) {
      const w = await measureWindow(server, clients, channels, windowMs, ctx.options.payloadBytes, 10_000);
      const all = latency(w.clients.all.histogram);
      const busy = w.clients.groups.get('dashboards');
      runs.push({
        ...all,
        busyP99: busy ? busy.histogram.percentile(0.99) : Number.NaN,
        loopLagP99: w.publish.loopDelayMs.p99,
        loopLagMax: w.publish.loopDelayMs.max,
        serverCpu: w.publish.cpu * 100,
        lost: w.lost + (w.drain.complete ? 0 : w.drain.missing),
      });
      ctx.log(`event-day-mix ${target.label} #${repeat + 1}: p99 ${all.p99.toFixed(1)} ms, loop lag p99 ${w.publish.loopDelayMs.p99.toFixed(1)} ms`);
    }
    return medianOf(runs);
  } finally {
    await clients.close();
  }
}
