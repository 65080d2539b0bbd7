import type { LatencyHistogram } from '../core/histogram.ts';
import type { ChannelRate, DrainReport, PublishReport } from '../core/specs.ts';
import type { ClientPool, MergedWindow } from '../driver/client-pool.ts';
import type { ServerHandle } from '../driver/server-handle.ts';

export interface Window {
  readonly publish: PublishReport;
  readonly drain: DrainReport;
  readonly clients: MergedWindow;
  /** messages delivered to clients per second of publishing */
  readonly deliveriesPerSec: number;
  /** messages that will never arrive: gaps in sequences, and what closed connections missed */
  readonly lost: number;
}

/**
 * One measurement window: clear the clients' counters, publish on the server's schedule, wait (up to
 * `drainMs`) for every subscriber to have the last message, collect.
 * @example const w = await measureWindow(server, clients, [{ channel: 'checkins', rate: 50 }], 2000, 128, 3000);
 */
export async function measureWindow(
  server: ServerHandle,
  clients: ClientPool,
  channels: readonly ChannelRate[],
  durationMs: number,
  payloadBytes: number,
  drainMs: number,
): Promise<Window> {
  await clients.reset();
  const publish = await server.publish({ channels, durationMs, payloadBytes });
  const drain = await clients.drain(publish.last, drainMs);
  const window = await clients.collect();
  return {
    publish,
    drain,
    clients: window,
    deliveriesPerSec: window.all.received / (publish.elapsedMs / 1000),
    lost: window.all.gaps + drain.deadMissing,
  };
}

/** p50, p99 and p99.9 in ms. */
export function latency(histogram: LatencyHistogram): { p50: number; p99: number; p999: number } {
  return { p50: histogram.percentile(0.5), p99: histogram.percentile(0.99), p999: histogram.percentile(0.999) };
}

/** Throws when connections did not open: figures over a partial client set would compare unequal loads. */
export function assertConnected(what: string, report: { connected: number; failed: number; errors: readonly string[] }): void {
  if (report.failed > 0) throw new Error(`${what}: ${report.failed} connections did not open (${report.connected} did): ${report.errors.slice(0, 3).join('; ')}`);
}
