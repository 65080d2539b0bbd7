import { fileURLToPath } from 'node:url';
import { medianOf } from '../core/stats.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { Figures, Scenario } from './scenario.ts';

/** The measurement lives with the push tests, runnable alone (it needs the push service stand-in from test support). */
const figuresScript = fileURLToPath(new URL('../../../hub/test/push/push-figures.ts', import.meta.url));

/**
 * push: one emergency announcement to 5,000 subscriptions (`--quick` 1,000) from a hub process to the local push
 * service stand-in over https (every request checked and decrypted, each answer held 20 ms as across the internet).
 * opshub is the hub's send queue (claims in the Store, keep-alive agent, cached VAPID token) timed from
 * `announce.send` to the last outcome in the control room's figures, with a control client's ping round trip measured
 * while it sends; the baseline is `web-push` alone in a plain loop with the same concurrency and the ping with the
 * hub idle, so the ping ratio reads as "how much the sending slows the live path".
 */
export const push: Scenario = {
  name: 'push',
  summary: 'web-push sends/s for one announcement to many phones, and the control ping while the hub sends',
  async run(ctx) {
    // 5,000 phones: a send of some four seconds at the measured rate, its pings every 20 ms
    const subscribers = ctx.count(5_000, 1_000);
    const opshub: Figures[] = [];
    const baseline: Figures[] = [];
    // Half the run's repeats, rounded up (one in a full run). Why: a repeat is a hub start, the subscriptions over REST
    // and two sends (about 65 s at 10,000 phones on a quiet machine, the slowest scenario of the full run); the rate
    // is already an average over every outcome, and the ping's percentiles are over every ping of the send.
    for (let repeat = 0; repeat < Math.ceil(ctx.repeats / 2); repeat++) {
      const figures = await runFigures(ctx, ['--subscribers', String(subscribers)], `${repeat + 1}`);
      opshub.push(figures.opshub);
      baseline.push(figures.baseline);
      ctx.log(`push #${repeat + 1}: ${figures.opshub.sendsPerSec} sends/s (web-push alone ${figures.baseline.sendsPerSec}); ping p99 ${figures.opshub.pingP99Ms} ms while sending, ${figures.baseline.pingP99Ms} ms idle`);
    }
    return {
      baselineName: 'web-push alone, in a plain loop',
      metrics: [
        { key: 'sendsPerSec', label: 'pushes sent and answered', unit: 'sends/s', better: 'higher' },
        { key: 'pingP50Ms', label: 'control ping round trip, p50', unit: 'ms', better: 'lower' },
        { key: 'pingP99Ms', label: 'control ping round trip, p99', unit: 'ms', better: 'lower' },
      ],
      opshub: medianOf(opshub),
      baseline: medianOf(baseline),
      notes: [
        `${subscribers.toLocaleString('en')} subscriptions made over REST, one emergency announcement; 64 requests in flight on both sides; the stand-in holds each answer 20 ms.`,
        'Baseline sends: web-push alone (no Store, no claims, no figures). Baseline ping: the same hub idle. The stand-in runs in the figures process, the ping probe in a worker thread of its own.',
      ],
    };
  },
};

interface FiguresLine {
  opshub: Figures;
  baseline: Figures;
}

async function runFigures(ctx: RunContext, args: string[], name: string): Promise<FiguresLine> {
  const child = ctx.group.spawnNode({ name: `push-${name}`, script: figuresScript, args });
  const { code } = await child.exited;
  const line = child.output.split('\n').find((l) => l.startsWith('FIGURES '));
  if (code !== 0 || !line) throw new Error(`push ${name}: exited ${code}: ${child.output.slice(-2000)}`);
  const { opshub, baseline } = JSON.parse(line.slice('FIGURES '.length)) as FiguresLine;
  const pick = (f: Figures): Figures => ({ sendsPerSec: f.sendsPerSec!, pingP50Ms: f.pingP50Ms!, pingP99Ms: f.pingP99Ms! });
  return { opshub: pick(opshub), baseline: pick(baseline) };
}
