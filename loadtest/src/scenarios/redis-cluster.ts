import { fileURLToPath } from 'node:url';
import type { RunContext } from '../driver/run-context.ts';
import type { Figures, Scenario } from './scenario.ts';

const figuresScript = fileURLToPath(new URL('../figures/bus-publish-figures.ts', import.meta.url));

/**
 * redis-cluster (issue 18): the Redis bus's publish throughput with 500 active topics on a Redis Cluster (3 primaries
 * with a replica each, sharded pub/sub, every publish acknowledged once a replica holds it) against one Redis, in the
 * same run, each side in a fresh process with its own freshly started redis-server(s).
 */
export const redisCluster: Scenario = {
  name: 'redis-cluster',
  summary: 'Redis bus publish throughput, 500 active topics: Redis Cluster (3 primaries + replicas) against one Redis',
  async run(ctx) {
    // 5 s per bus: some 80,000–170,000 acknowledged publishes each, three buses (each with its own redis-servers)
    const ms = ctx.ms(5_000, 3_000);
    const common = ['--topics', '500', '--ms', String(ms), '--inflight', '64', '--payload', String(ctx.options.payloadBytes)];
    const single = await runFigures(ctx, ['--mode', 'single', ...common], 'single');
    const cluster = await runFigures(ctx, ['--mode', 'cluster', '--replicas', '1', ...common], 'cluster');
    // Without replicas (no WAIT): separates the price of sharding from the price of waiting for a replica.
    const bare = await runFigures(ctx, ['--mode', 'cluster', '--replicas', '0', ...common], 'cluster-no-replicas');
    ctx.log(`redis-cluster: ${single.publishesPerSec} (one Redis) → ${cluster.publishesPerSec} (cluster, replicated) / ${bare.publishesPerSec} (cluster, no replicas) publishes/s`);
    return {
      metrics: [
        { key: 'publishesPerSec', label: 'acknowledged publishes, 500 topics, 64 in flight', unit: 'msg/s', better: 'higher' },
        { key: 'publishP50Ms', label: 'publish until acknowledged, median', unit: 'ms', better: 'lower' },
        { key: 'publishP99Ms', label: 'publish until acknowledged, p99', unit: 'ms', better: 'lower' },
        { key: 'deliveriesPerSec', label: 'deliveries at a second bus subscribed to every topic', unit: 'msg/s', better: 'higher' },
        { key: 'missing', label: 'acknowledged messages that did not arrive', unit: 'msgs', better: 'lower' },
      ],
      opshub: cluster,
      baseline: single,
      baselineName: 'one Redis',
      notes: [
        'opshub column: Redis Cluster, 3 primaries with a replica each (SPUBLISH on the owning shard, WAIT 1 before a publish is acknowledged); baseline column: the same bus on one redis-server. Both started here from the machine\'s redis-server, loopback, no persistence; one publishing bus, one subscribed bus.',
        `The same cluster without replicas (no WAIT): ${bare.publishesPerSec} publishes/s, p99 ${bare.publishP99Ms} ms. On one small machine every node shares the cores of the driver, so the cluster cannot show its scaling here; it shows what sharding and waiting for a replica cost per publish.`,
      ],
    };
  },
};

async function runFigures(ctx: RunContext, args: string[], name: string): Promise<Figures> {
  const child = ctx.group.spawnNode({ name: `redis-cluster-${name}`, script: figuresScript, args });
  const { code } = await child.exited;
  const line = child.output.split('\n').find((l) => l.startsWith('FIGURES '));
  if (code !== 0 || !line) throw new Error(`redis-cluster ${name}: exited ${code}: ${child.output.slice(-2000)}`);
  const figures = JSON.parse(line.slice('FIGURES '.length)) as Record<string, number>;
  if (figures.disorder !== 0 || figures.failed !== 0) throw new Error(`redis-cluster ${name}: ${figures.disorder} out of order, ${figures.failed} failed publishes`);
  return {
    publishesPerSec: figures.publishesPerSec!,
    publishP50Ms: figures.publishP50Ms!,
    publishP99Ms: figures.publishP99Ms!,
    deliveriesPerSec: figures.deliveriesPerSec!,
    missing: figures.missing!,
  };
}
