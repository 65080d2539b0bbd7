import { readdirSync, readFileSync } from 'node:fs';
import { median } from '../core/stats.ts';
import type { ClientPool } from '../driver/client-pool.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { ServerHandle } from '../driver/server-handle.ts';
import { assertConnected, latency, measureWindow } from './measure.ts';
import { processCpuMs } from './paired-cpu.ts';
import type { Figures, Scenario } from './scenario.ts';

const CHANNEL = 'checkins';
/** deliveries per second in the CPU windows: well inside one core's reach, so neither side is saturated */
const DELIVERIES_PER_SEC = 40_000;
/** tiny subscriber counts (the driver's self-test) stop here instead of publishing tens of thousands of messages a second */
const MAX_RATE = 2000;
/** the sweep windows publish this few messages per second: each message's sweep runs alone */
const SWEEP_RATE = 4;
/** USER_HZ, as in paired-cpu.ts */
const USER_HZ = 100;

/** CPU ms so far of every thread of `pid`, by thread id (from /proc/PID/task/TID/stat). */
function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

interface Side {
  readonly workers: number;
  readonly server: ServerHandle;
  readonly clients: ClientPool;
}

/**
 * workers: the same hub with HUB_WORKERS=1 and 2, the same subscribers on each. On a machine whose cores the clients
 * share, a second worker cannot show as more deliveries per second; what it changes is measured with the clients'
 * cost left out: the server's CPU per delivery (all threads, from /proc, in paired alternating windows), the busiest
 * thread's share of it (the thread that saturates first: with a core per thread, it sets the hub's ceiling), and the
 * p99 of single messages swept to every subscriber.
 */
export const workers: Scenario = {
  name: 'workers',
  summary: 'HUB_WORKERS 1 vs 2: server CPU per delivery (all threads, busiest thread), one message\'s sweep p99',
  async run(ctx) {
    const subscribers = ctx.count(2000, 300);
    const windowMs = ctx.ms(2000, 500);
    const rounds = ctx.quick ? 2 : 4;
    const rate = Math.min(MAX_RATE, DELIVERIES_PER_SEC / subscribers);
    const sides: Side[] = [];
    try {
      // Both hubs start together (nothing is measured yet), each from the run's database template; not pinned to the
      // server core: a second worker needs a core of its own to be worth anything.
      const servers = await Promise.all(
        [1, 2].map((count) => ctx.startServer(ctx.opshub, { label: `workers-${count}`, unpinned: true, env: { BENCH_HUB_WORKERS: String(count) } })),
      );
      for (const [i, count] of [1, 2].entries()) {
        const server = servers[i]!;
        const clients = await ctx.clients(`workers-${count}`);
        sides.push({ workers: count, server, clients });
        assertConnected('workers', await clients.connect(await ctx.plan(ctx.opshub, [{ label: 'all', count: subscribers, channel: CHANNEL, url: server.url }])));
      }
      ctx.log(`workers: ${subscribers} subscribers on each hub; ${rounds} paired rounds at ${Math.round(rate)} msg/s`);
      // warm-up: JIT and first-message paths on both
      for (const side of sides) await measureWindow(side.server, side.clients, [{ channel: CHANNEL, rate }], 300, ctx.options.payloadBytes, 3000);

      const total: number[][] = sides.map(() => []);
      const busiest: number[][] = sides.map(() => []);
      const busyThreads: number[][] = sides.map(() => []);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          const { server, clients } = sides[i]!;
          const before = threadCpuMs(server.pid);
          const beforeAll = processCpuMs(server.pid);
          const w = await measureWindow(server, clients, [{ channel: CHANNEL, rate }], windowMs, ctx.options.payloadBytes, 5000);
          const after = threadCpuMs(server.pid);
          const deliveries = Math.max(1, w.clients.all.received);
          const perThread = [...after].map(([tid, ms]) => ms - (before.get(tid) ?? 0)).sort((a, b) => b - a);
          total[i]!.push(((processCpuMs(server.pid) - beforeAll) * 1000) / deliveries);
          busiest[i]!.push((perThread[0]! * 1000) / deliveries);
          // threads that did a tenth of the busiest one's work or more: the ones the load really runs on
          busyThreads[i]!.push(perThread.filter((ms) => ms >= perThread[0]! / 10 && ms > 0).length);
        }
      }

      const sweeps: { p50: number; p99: number; lost: number }[] = [];
      for (const side of sides) {
        const w = await measureWindow(side.server, side.clients, [{ channel: CHANNEL, rate: SWEEP_RATE }], ctx.ms(3000, 1500), ctx.options.payloadBytes, 5000);
        sweeps.push({ ...latency(w.clients.all.histogram), lost: w.lost });
      }

      const figures = (i: number): Figures => ({
        usPerDelivery: median(total[i]!),
        busiestThreadUs: median(busiest[i]!),
        busyThreads: median(busyThreads[i]!),
        ceiling: 1e6 / median(busiest[i]!),
        sweepP50: sweeps[i]!.p50,
        sweepP99: sweeps[i]!.p99,
        lost: sweeps[i]!.lost,
      });
      const [one, two] = [figures(0), figures(1)];
      ctx.log(`workers: CPU per delivery ${round(one.usPerDelivery!)} µs (1) vs ${round(two.usPerDelivery!)} µs (2); busiest thread ${round(one.busiestThreadUs!)} vs ${round(two.busiestThreadUs!)} µs; sweep p99 ${round(one.sweepP99!)} vs ${round(two.sweepP99!)} ms`);
      return {
        metrics: [
          { key: 'usPerDelivery', label: 'server CPU per delivery, all threads (paired windows; /proc)', unit: 'µs', better: 'lower' },
          { key: 'busiestThreadUs', label: 'busiest thread\'s CPU per delivery', unit: 'µs', better: 'lower' },
          { key: 'busyThreads', label: 'threads doing the work (≥ 1/10 of the busiest)', unit: '', better: 'higher' },
          { key: 'ceiling', label: 'deliveries/s ceiling with a core per thread (1 ÷ busiest thread)', unit: '/s', better: 'higher' },
          { key: 'sweepP50', label: `p50 of one message to ${subscribers} subscribers (${SWEEP_RATE} msg/s)`, unit: 'ms', better: 'lower' },
          { key: 'sweepP99', label: `p99 of one message to ${subscribers} subscribers (${SWEEP_RATE} msg/s)`, unit: 'ms', better: 'lower' },
          { key: 'lost', label: 'messages lost in the sweep windows', unit: '', better: 'lower' },
        ],
        opshub: two,
        baseline: one,
        baselineName: 'opshub HUB_WORKERS=1',
        notes: [
          `opshub column: HUB_WORKERS=2; baseline column: the same hub with HUB_WORKERS=1. ${subscribers} subscribers each, ${Math.round(rate)} msg/s (${Math.round(rate * subscribers).toLocaleString('en-US')} deliveries/s) in ${rounds} paired rounds of one ${windowMs} ms window per hub in turn; CPU per thread from /proc/PID/task/*/stat.`,
          `The clients run on this machine too, so the sweep p99 includes their reading; with ${ctx.layout.clientCores} client core(s) the second worker's core is shared with them. The ceiling row is what the busiest thread allows when every thread has a core of its own (README "Using every core").`,
        ],
      };
    } finally {
      await Promise.all(sides.map((s) => s.clients.close()));
      await Promise.all(sides.map((s) => s.server.stop()));
    }
  },
};

const round = (v: number) => (v >= 100 ? Math.round(v) : Number(v.toPrecision(3)));
