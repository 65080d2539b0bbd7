import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { nowMs, padding, type BenchPayload } from '../core/payload.ts';
import { emit, serve } from '../core/rpc.ts';
import type { MemoryParts, PublishPlan, PublishReport, ServerSpec, ServerStats } from '../core/specs.ts';

/** What a server under test offers the runtime: how to publish in-process, count connections, shut down. */
export interface ServerUnderTest {
  readonly port: number;
  /** publishes one message to a channel through the server's real path; synchronous or fire-and-forget */
  publish(channel: string, payload: BenchPayload): void;
  connections(): number;
  close(): Promise<void>;
  /** bytes of RSS each part added at start-up (see ServerStats.startup) */
  readonly startup?: Readonly<Record<string, number>>;
  /** what each part holds now (see MemoryParts) */
  parts?(): Promise<MemoryParts>;
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Runs a server entry under the driver: announces `ready`, then answers the {@link ServerSpec} calls.
 * Both the opshub and the baseline entries use this, so they publish on the very same schedule.
 * @example runServer({ port, publish: (c, p) => io.to(c).emit('msg', p), connections: () => n, close });
 */
export function runServer(server: ServerUnderTest): void {
  const counters = new Map<string, number>();
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= server.close());

  serve<ServerSpec>({
    publish: (plan) => publishOnSchedule(plan, server, counters),
    stats: ({ gc: collect }) => stats(server, collect),
    heapSnapshot: ({ file }) => ({ file: writeHeapSnapshot(file) }),
    parts: async () => (server.parts ? server.parts() : {}),
    close: async () => {
      await close();
      setImmediate(() => process.exit(0));
      return {};
    },
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      close().finally(() => process.exit(0));
    });
  }
  emit('ready', { port: server.port, pid: process.pid });
}

async function stats(server: ServerUnderTest, collect: boolean): Promise<ServerStats> {
  if (collect && gc) {
    // Twice with a turn of the loop between: weak references and finalisers are freed by the second pass.
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, connections: server.connections(), ...(server.startup && { startup: server.startup }) };
}

/**
 * Publishes every channel at its rate for the plan's duration, open loop: a 1 ms timer publishes whatever is due,
 * each message stamped with its scheduled time, so a server that falls behind shows it in the latencies.
 */
function publishOnSchedule(plan: PublishPlan, server: ServerUnderTest, counters: Map<string, number>): Promise<PublishReport> {
  const pad = padding(plan.payloadBytes);
  const channels = plan.channels.map((c) => ({ ...c, sent: 0, intervalMs: 1000 / c.rate }));
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const cpuBefore = process.cpuUsage();
  const start = nowMs();
  const end = start + plan.durationMs;
  let published = 0;
  let late = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = nowMs();
      const until = Math.min(now, end);
      for (const c of channels) {
        for (;;) {
          const due = start + (c.sent + 1) * c.intervalMs;
          if (due > until) break;
          const n = (counters.get(c.channel) ?? 0) + 1;
          counters.set(c.channel, n);
          if (now - due > 5) late++;
          server.publish(c.channel, { t: due, n, p: pad });
          c.sent++;
          published++;
        }
      }
      if (now < end) {
        setTimeout(tick, 1);
        return;
      }
      delay.disable();
      const cpu = process.cpuUsage(cpuBefore);
      const elapsedMs = nowMs() - start;
      resolve({
        last: Object.fromEntries(plan.channels.map((c) => [c.channel, counters.get(c.channel) ?? 0])),
        published,
        elapsedMs,
        late,
        loopDelayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
        cpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
        cpuSystem: cpu.system / 1000 / elapsedMs,
      });
    };
    tick();
  });
}
