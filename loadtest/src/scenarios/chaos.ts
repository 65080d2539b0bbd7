import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Metric, Scenario, ScenarioOutcome } from './scenario.ts';

/**
 * The drill lives with its test: `hub/test/cluster/chaos.test.ts` runs it with profile `ci` (two hubs, one kill) and
 * asserts on it; this scenario runs profile `bench` (see `drillProfiles` in `hub/test/cluster/chaos/chaos-drill.ts`).
 */
const figuresScript = fileURLToPath(new URL('../../../hub/test/cluster/chaos-figures.ts', import.meta.url));

const metrics: readonly Metric[] = [
  { key: 'lost', label: 'messages lost (replay window)', unit: '', better: 'lower' },
  { key: 'duplicated', label: 'messages duplicated', unit: '', better: 'lower' },
  { key: 'ackedWritesLost', label: 'acknowledged writes lost (scans, votes, chat)', unit: '', better: 'lower' },
  { key: 'backP50', label: 'clients back after their hub died, p50', unit: 'ms', better: 'lower' },
  { key: 'backMax', label: 'clients back after their hub died, max', unit: 'ms', better: 'lower' },
  { key: 'redisReadyMs', label: 'Redis back → every hub /healthz 200', unit: 'ms', better: 'lower' },
  { key: 'postgresReadyMs', label: 'PostgreSQL back → every hub /healthz 200', unit: 'ms', better: 'lower' },
];

interface ChaosFigures {
  lost: number;
  duplicated: number;
  resets: number;
  ackedWritesLost: { scans: number; votes: number; chats: number };
  acked: { scans: number; votes: number; chats: number };
  timeBack: { outages: number; back: number; p50Ms: number; maxMs: number };
  healthz: {
    redisDown: Record<string, string[]>;
    postgresDown: Record<string, string[]>;
    redisReadyAgainMs: number;
    postgresReadyAgainMs: number;
    killed: Record<string, { downAfterMs: number; upAfterStartMs: number }>;
  };
  refused: Record<string, number>;
}

/**
 * chaos (issue 18 item 2): three hubs behind HAProxy on a private Redis and PostgreSQL under a steady event day
 * (3 gates' edge agents scanning, 60 attendees voting, 20 chatting, a control room resuming with `since`); kill -9
 * each hub in turn, restart Redis, restart PostgreSQL (each down 5 s). opshub only: the peers have no shared store to
 * lose writes from; the figures are absolute (lost, duplicated and acknowledged writes lost must be 0). `--quick`
 * skips it: three hub restarts take minutes on a loaded machine, and `hub/test/cluster/chaos.test.ts` runs it short
 * (two hubs, one kill -9, 4 s outages).
 */
export const chaos: Scenario = {
  name: 'chaos',
  summary: '3 hubs behind HAProxy: kill -9 each, restart Redis and PostgreSQL under load; lost, duplicated, time back, /healthz',
  async run(ctx): Promise<ScenarioOutcome> {
    const missing = ['haproxy', 'redis-server'].filter((tool) => {
      try {
        execFileSync(tool, tool === 'haproxy' ? ['-v'] : ['--version'], { stdio: 'ignore' });
        return false;
      } catch {
        return true;
      }
    });
    if (missing.length > 0) return { metrics, opshub: {}, baseline: {}, notes: [`skipped: needs ${missing.join(', ')} (Debian packages)`] };
    if (ctx.quick) return { metrics, opshub: {}, baseline: {}, notes: ['skipped with --quick: the drill restarts three hubs (minutes on a loaded machine); hub/test/cluster/chaos.test.ts runs it short (two hubs, one kill -9)'] };
    const child = ctx.group.spawnNode({ name: 'chaos-drill', script: figuresScript, args: ['--profile', 'bench'] });
    const { code } = await child.exited;
    const line = child.output.split('\n').find((l) => l.startsWith('FIGURES '));
    if (code !== 0 || !line) throw new Error(`chaos: the drill exited ${code}: ${child.output.slice(-3000)}`);
    const f = JSON.parse(line.slice('FIGURES '.length)) as ChaosFigures;
    const kills = Object.entries(f.healthz.killed).map(([hub, k]) => `${hub} out of HAProxy's rotation ${k.downAfterMs} ms after its kill, back ${Math.round(k.upAfterStartMs / 1000)} s after its start`);
    const states = (by: Record<string, string[]>) => [...new Set(Object.values(by).flat())].join(' / ');
    return {
      metrics,
      opshub: {
        lost: f.lost,
        duplicated: f.duplicated,
        ackedWritesLost: f.ackedWritesLost.scans + f.ackedWritesLost.votes + f.ackedWritesLost.chats,
        backP50: f.timeBack.p50Ms,
        backMax: f.timeBack.maxMs,
        redisReadyMs: f.healthz.redisReadyAgainMs,
        postgresReadyMs: f.healthz.postgresReadyAgainMs,
      },
      baseline: {},
      notes: [
        `acknowledged: ${f.acked.scans} admitted scans, ${f.acked.votes} voters' last votes, ${f.acked.chats} chat messages; ${f.timeBack.back} of ${f.timeBack.outages} client outages back; ${f.resets} resets.`,
        `/healthz while Redis was down: ${states(f.healthz.redisDown)}; while PostgreSQL was down: ${states(f.healthz.postgresDown)}.`,
        ...kills,
        `refused while a backend was down (votes retried until acknowledged, chat not): ${JSON.stringify(f.refused)}.`,
      ],
    };
  },
};
