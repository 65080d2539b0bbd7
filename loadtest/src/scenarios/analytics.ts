import { fileURLToPath } from 'node:url';
import { medianOf } from '../core/stats.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { Figures, Scenario } from './scenario.ts';

/** The measurement itself lives with the analytics tests, runnable alone; this scenario runs it for both sides. */
const figuresScript = fileURLToPath(new URL('../../../hub/test/analytics/ingest-figures.ts', import.meta.url));

/**
 * analytics: N generated event-day events (10,000,000; `--quick` 1,000,000) recorded into chDB through the hub's
 * analytics, then the sponsor dashboard's queries over them. opshub is the hub's ingest as configured
 * (TabSeparated lines, 50,000-row batches, a separate reader connection, materialized views); the baseline is the
 * same ingest as it was before (JSONEachRow, 5,000-row batches, one connection) on the same tables, with the
 * heatmaps computed from the raw event table, as they would be without the views.
 *
 * Each side runs in a fresh process of its own, unpinned (the engine's threads are part of what is measured), one
 * after the other, and each repeat starts from an empty data folder.
 */
export const analytics: Scenario = {
  name: 'analytics',
  summary: 'events/s recorded into chDB, then heatmap and sponsor-summary query times over them',
  async run(ctx) {
    const events = ctx.count(10_000_000, 1_000_000);
    const baseline: Figures[] = [];
    const opshub: Figures[] = [];
    for (let repeat = 0; repeat < ctx.repeats; repeat++) {
      baseline.push(await measure(ctx, 'baseline', events, repeat));
      opshub.push(await measure(ctx, 'opshub', events, repeat));
    }
    return {
      metrics: [
        { key: 'eventsPerSec', label: 'ingest into chDB', unit: 'events/s', better: 'higher' },
        { key: 'cpuMicrosPerEvent', label: 'CPU per event ingested (all threads)', unit: 'µs', better: 'lower' },
        { key: 'zoneHeatmapColdMs', label: 'zone heatmap (occupancy, 5 min buckets), first request', unit: 'ms', better: 'lower' },
        { key: 'zoneHeatmapMs', label: 'zone heatmap, median of the next four', unit: 'ms', better: 'lower' },
        { key: 'sessionHeatmapMs', label: 'session heatmap (5 min buckets), median', unit: 'ms', better: 'lower' },
        { key: 'sponsorSummaryMs', label: 'sponsor summary, median', unit: 'ms', better: 'lower' },
      ],
      opshub: medianOf(opshub),
      baseline: medianOf(baseline),
      notes: [
        `${events.toLocaleString('en')} events per side (about a fifth of them zone scans), one attendee per 400 events; ingest timed from record() to flush(), event generation not timed.`,
        'Queries after background merges settle. opshub keeps an event\'s paired scan history after the first zone heatmap and then pairs only new scans; the baseline recomputes from the raw table every time and has no sponsor summary (it needs the views).',
      ],
    };
  },
};

async function measure(ctx: RunContext, mode: 'opshub' | 'baseline', events: number, repeat: number): Promise<Figures> {
  const child = ctx.group.spawnNode({ name: `analytics-${mode}-${repeat + 1}`, script: figuresScript, args: ['--events', String(events), '--mode', mode] });
  const { code } = await child.exited;
  const line = child.output.split('\n').find((l) => l.startsWith('FIGURES '));
  if (code !== 0 || !line) throw new Error(`analytics ${mode}: exited ${code}: ${child.output.slice(-2000)}`);
  const f = JSON.parse(line.slice('FIGURES '.length)) as {
    ingest: { eventsPerSec: number; cpuMicrosPerEvent: number };
    queries: Record<string, { coldMs: number; medianMs: number }>;
  };
  ctx.log(`analytics ${mode} #${repeat + 1}: ${f.ingest.eventsPerSec.toLocaleString('en')} events/s, zone heatmap ${f.queries.zoneHeatmap?.medianMs} ms`);
  return {
    eventsPerSec: f.ingest.eventsPerSec,
    cpuMicrosPerEvent: f.ingest.cpuMicrosPerEvent,
    zoneHeatmapColdMs: f.queries.zoneHeatmap?.coldMs ?? Number.NaN,
    zoneHeatmapMs: f.queries.zoneHeatmap?.medianMs ?? Number.NaN,
    sessionHeatmapMs: f.queries.sessionHeatmap?.medianMs ?? Number.NaN,
    ...(f.queries.sponsorSummary && { sponsorSummaryMs: f.queries.sponsorSummary.medianMs }),
  };
}
