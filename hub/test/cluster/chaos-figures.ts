/**
 * Chaos figures: the drill of `chaos/chaos-drill.ts`, longer than the test. Not part of the test suite; the bench's
 * `chaos` scenario runs it, or run it alone:
 *
 *   npx tsx hub/test/cluster/chaos-figures.ts --settle 10000 --outage 10000 --gates 3 --voters 60 --chatters 20
 *
 * Needs redis-server, haproxy and PostgreSQL's server programs (all from Debian's packages); it starts its own Redis
 * and PostgreSQL on free ports. Progress goes to stderr; the last stdout line is `FIGURES {json}`.
 */
import { parseArgs } from 'node:util';
import { runChaosDrill } from './chaos/chaos-drill.ts';

const { values } = parseArgs({
  options: {
    hubs: { type: 'string', default: '3' },
    gates: { type: 'string', default: '3' },
    voters: { type: 'string', default: '60' },
    chatters: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5000' },
    settle: { type: 'string', default: '10000' },
    outage: { type: 'string', default: '10000' },
    kills: { type: 'string', default: '3' },
  },
});
if (process.send) process.on('disconnect', () => process.exit(0));

const report = await runChaosDrill({
  hubs: Number(values.hubs),
  tickets: 20_000,
  warmupMs: Number(values.warmup),
  settleMs: Number(values.settle),
  outageMs: Number(values.outage),
  kills: Number(values.kills),
  load: { gates: Number(values.gates), scanEveryMs: 100, voters: Number(values.voters), voteEveryMs: 2000, chatters: Number(values.chatters), chatEveryMs: 1500 },
  log: (line) => process.stderr.write(`[chaos] ${line}\n`),
});
process.stderr.write(`${JSON.stringify(report, null, 2)}\n`);
console.log(`FIGURES ${JSON.stringify(report)}`);
process.exit(0);
