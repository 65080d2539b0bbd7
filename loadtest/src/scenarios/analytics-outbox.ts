import { fileURLToPath } from 'node:url';
import type { RunContext } from '../driver/run-context.ts';
import type { Figures, Scenario } from './scenario.ts';

const figuresScript = fileURLToPath(new URL('../../../hub/test/analytics/outbox-figures.ts', import.meta.url));

/**
 * analytics-outbox: what exactly-once analytics (issue 14) costs. opshub writes each event into the Store's outbox in
 * the transaction of its fact (PGlite here, the embedded default) and the relay ships it to chDB; the baseline is the
 * straightforward path the hub had before: `record()` into an in-memory batcher that inserts into chDB, and loses what
 * is queued on `kill -9`. N events (1,000,000; `--quick` 100,000), each side in a fresh process of its own.
 */
export const analyticsOutbox: Scenario = {
  name: 'analytics-outbox',
  summary: 'exactly-once analytics: Store outbox → relay → chDB against the in-memory batcher',
  async run(ctx) {
    // 300,000 events a side: a second or two of drain each at the measured rates, steady after the first block
    const events = ctx.count(300_000, 100_000);
    const direct = await runFigures(ctx, ['--mode', 'direct', '--events', String(events)], 'direct');
    const outbox = await runFigures(ctx, ['--mode', 'outbox', '--events', String(events)], 'outbox');
    ctx.log(`analytics-outbox: ingest ${(direct.eventsPerSec ?? 0).toLocaleString('en')} (direct) → ${(outbox.eventsPerSec ?? 0).toLocaleString('en')} (outbox relay) events/s`);
    return {
      baselineName: 'the in-memory batcher it replaced',
      metrics: [
        { key: 'eventsPerSec', label: 'ingest into chDB (relay drain vs the old batcher\'s flush)', unit: 'events/s', better: 'higher' },
        { key: 'cpuMicrosPerEvent', label: 'CPU per event ingested', unit: 'µs', better: 'lower' },
        { key: 'liveWriteMs', label: 'live path per event (outbox row in its own transaction vs record()), median', unit: 'ms', better: 'lower' },
        { key: 'liveWriteP99Ms', label: 'live path per event, p99', unit: 'ms', better: 'lower' },
        { key: 'lostOnKill', label: 'acknowledged events a kill -9 can lose', unit: 'events', better: 'lower' },
      ],
      opshub: outbox,
      baseline: direct,
      notes: [
        `${events.toLocaleString('en')} generated events; opshub's outbox is loaded untimed in transactions of 1,000, then the relay's drain into chDB is timed (PGlite read + chDB insert, 50,000-row batches); the baseline times record() of every event then flush().`,
        'The live-path figure for opshub is a whole Store transaction of one event (what a vote adds to its own transaction is one insert); the baseline\'s is record() alone, which stores nothing durable. Its lostOnKill is the batch size; the queue can hold 200,000.',
      ],
    };
  },
};

async function runFigures(ctx: RunContext, args: string[], name: string): Promise<Figures> {
  const child = ctx.group.spawnNode({ name: `analytics-outbox-${name}`, script: figuresScript, args });
  const { code } = await child.exited;
  const line = child.output.split('\n').find((l) => l.startsWith('FIGURES '));
  if (code !== 0 || !line) throw new Error(`analytics-outbox ${name}: exited ${code}: ${child.output.slice(-2000)}`);
  const figures = JSON.parse(line.slice('FIGURES '.length)) as Record<string, number>;
  return {
    eventsPerSec: figures.eventsPerSec!,
    cpuMicrosPerEvent: figures.cpuMicrosPerEvent!,
    liveWriteMs: figures.liveWriteMs!,
    liveWriteP99Ms: figures.liveWriteP99Ms!,
    lostOnKill: figures.lostOnKill!,
  };
}
