import type { Logger } from '../../log.ts';
import { getEvent } from '../../store/repos/events-repo.ts';
import type { Store } from '../../store/store.ts';
import type { Analytics } from '../analytics.ts';
import type { OutboxRelay } from '../outbox-relay.ts';
import type { OccupancyDeltas } from './occupancy-deltas.ts';

export interface WarmUpOptions {
  readonly store: Pick<Store, 'db'>;
  readonly analytics: Pick<Analytics, 'query'>;
  readonly occupancy: Pick<OccupancyDeltas, 'minuteDeltas'>;
  readonly relay: Pick<OutboxRelay, 'drain'>;
  /** events warmed, the most recently scanned first (default 8: well inside what `OccupancyDeltas` keeps) */
  readonly events?: number;
  /** how long to wait for the relay to catch up first (default 120,000 ms) */
  readonly drainMs?: number;
  readonly log?: Logger;
}

/**
 * Pairs the scan history of the events scanned most recently, once the relay has caught up, so that the first zone
 * heatmap anyone asks for is served from kept state (tens of milliseconds) instead of pairing millions of scans then
 * (hundreds). The hub runs this in the background after it starts; a failure costs only that speed-up.
 * @example void warmOccupancy({ store, analytics, occupancy, relay, log });
 */
export async function warmOccupancy(options: WarmUpOptions): Promise<number> {
  const { store, analytics, occupancy, relay, log } = options;
  // Warming before the relay caught up would pair a partial history that the first request then sees as stale.
  await relay.drain(options.drainMs ?? 120_000).catch(() => undefined);
  const recent = await analytics.query<{ event: string }>(
    'SELECT event FROM zone_scans GROUP BY event ORDER BY max(ts) DESC LIMIT {n:UInt32}',
    { n: options.events ?? 8 },
  );
  let warmed = 0;
  for (const { event } of recent) {
    const details = await getEvent(store.db, event);
    if (!details || details.zones.length === 0) continue;
    const started = performance.now();
    // The zone set the heatmap route passes (every zone of the event): the kept history is per zone set.
    await occupancy.minuteDeltas(event, details.zones.map((z) => z.id), Date.now());
    warmed++;
    log?.debug({ event, ms: Math.round(performance.now() - started) }, 'analytics: occupancy history paired ahead of the first heatmap');
  }
  return warmed;
}
