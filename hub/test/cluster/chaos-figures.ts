/**
 * Chaos figures: the drill of `chaos/chaos-drill.ts` with its `bench` profile (three hubs each killed in turn, 5 s
 * outages), longer than the test's `ci` profile. Not part of the test suite; the bench's `chaos` scenario runs it,
 * or run it alone (any option overrides the profile):
 *
 *   npx tsx hub/test/cluster/chaos-figures.ts --settle 10000 --outage 10000 --gates 3 --voters 60 --chatters 20
 *   npx tsx hub/test/cluster/chaos-figures.ts --profile ci
 *
 * Needs redis-server, haproxy and PostgreSQL's server programs (all from Debian's packages); it starts its own Redis
 * and PostgreSQL on free ports. Progress goes to stderr; the last stdout line is `FIGURES {json}`.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { drillProfiles, runChaosDrill } from './chaos/chaos-drill.ts';

const count = (min: number) => z.coerce.number().int().min(min).optional();
const Args = z.object({
  profile: z.enum(['ci', 'bench']).default('bench'),
  hubs: count(2),
  gates: count(1),
  voters: count(0),
  chatters: count(0),
  warmup: count(0),
  settle: count(0),
  outage: count(0),
  kills: count(0),
});
const names = Object.keys(Args.shape);
const parsed = Args.safeParse(parseArgs({ options: Object.fromEntries(names.map((name) => [name, { type: 'string' as const }])) }).values);
if (!parsed.success) {
  process.stderr.write(`chaos-figures: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}\nusage: chaos-figures.ts [--profile ci|bench] ${names.slice(1).map((n) => `[--${n} N]`).join(' ')}\n`);
  process.exit(2);
}
const args = parsed.data;
if (process.send) process.on('disconnect', () => process.exit(0));

const profile = drillProfiles[args.profile];
const report = await runChaosDrill({
  ...profile,
  hubs: args.hubs ?? profile.hubs,
  kills: args.kills ?? profile.kills,
  warmupMs: args.warmup ?? profile.warmupMs,
  settleMs: args.settle ?? profile.settleMs,
  outageMs: args.outage ?? profile.outageMs,
  load: { ...profile.load, gates: args.gates ?? profile.load.gates, voters: args.voters ?? profile.load.voters, chatters: args.chatters ?? profile.load.chatters },
  log: (line) => process.stderr.write(`[chaos] ${line}\n`),
});
process.stderr.write(`${JSON.stringify(report, null, 2)}\n`);
console.log(`FIGURES ${JSON.stringify(report)}`);
process.exit(0);
