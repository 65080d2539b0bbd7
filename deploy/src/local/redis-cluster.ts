import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';
import type { OwnedProcess } from './owned-process.ts';
import { RedisServerError, startRedisNode } from './redis-server.ts';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** default 3 */
  readonly primaries?: number;
  /** default 1 */
  readonly replicasPerPrimary?: number;
  /** how long a silent node takes to be declared failed (and its replica promoted); default 1000 ms */
  readonly nodeTimeoutMs?: number;
}

/** One node of the cluster: its client port, its process while it runs. */
export interface ClusterNode {
  readonly port: number;
  readonly busPort: number;
  readonly address: string;
  process: OwnedProcess | undefined;
}

/**
 * A throwaway Redis Cluster on loopback, started from the machine's `redis-server` (`--cluster-enabled yes`, each
 * node on a free client port and a free cluster-bus port) and created with `redis-cli --cluster create`: 3 primaries
 * with a replica each by default. For tests and the bench; nothing of it outlives {@link close}.
 *
 * @example
 * const cluster = await LocalRedisCluster.start();
 * new RedisBus({ url: cluster.url });        // redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…
 * await cluster.kill(await cluster.primaryOf(slot));
 * await cluster.waitForFailover(address);
 * await cluster.close();
 */
export class LocalRedisCluster {
  private constructor(
    readonly nodes: readonly ClusterNode[],
    readonly dir: string,
    private readonly options: Required<RedisClusterOptions>,
  ) {}

  static async start(options: RedisClusterOptions = {}): Promise<LocalRedisCluster> {
    const resolved = { primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1000, ...options };
    const dir = await mkdtemp(join(tmpdir(), 'opshub-redis-cluster-'));
    const cluster = new LocalRedisCluster([], dir, resolved);
    try {
      const count = resolved.primaries * (1 + resolved.replicasPerPrimary);
      const nodes: ClusterNode[] = [];
      for (let i = 0; i < count; i++) nodes.push(await cluster.#startNewNode());
      (cluster as { nodes: readonly ClusterNode[] }).nodes = nodes;
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(resolved.replicasPerPrimary), '--cluster-yes'], { timeout: 60_000 });
      await cluster.waitUntilHealthy();
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** `redis+cluster://` with every node as a seed. */
  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => n.address).join(',')}`;
  }

  /** The primary serving `slot`, asked of a running node. */
  async primaryOf(slot: number): Promise<string> {
    const owner = await this.slotOwners();
    const primary = owner(slot);
    if (primary === undefined) throw new Error(`no node serves slot ${slot}`);
    return primary;
  }

  /** Who serves each slot now (one CLUSTER SLOTS), for picking many keys by their primary at once. */
  async slotOwners(): Promise<(slot: number) => string | undefined> {
    const slots = (await this.#ask((redis) => redis.cluster('SLOTS'))) as unknown as [number, number, [string, number]][];
    return (slot) => {
      for (const [start, end, [host, port]] of slots) if (slot >= start && slot <= end) return `${host}:${port}`;
      return undefined;
    };
  }

  /** Every node currently a primary with slots, as `host:port`. */
  async primaries(): Promise<string[]> {
    const slots = (await this.#ask((redis) => redis.cluster('SLOTS'))) as unknown as [number, number, [string, number]][];
    return [...new Set(slots.map(([, , [host, port]]) => `${host}:${port}`))];
  }

  /** kill -9 (or another signal) of one node. */
  async kill(address: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.#node(address);
    await node.process?.stop(signal);
    node.process = undefined;
  }

  /** Starts a stopped node again on its ports; it rejoins from its nodes.conf (a failed-over primary as a replica). */
  async restart(address: string): Promise<void> {
    const node = this.#node(address);
    if (node.process?.running) return;
    node.process = await startRedisNode({ port: node.port, dir: this.dir, cluster: { busPort: node.busPort, nodeTimeoutMs: this.options.nodeTimeoutMs } });
  }

  /** Resolves once a running node reports another primary in place of `address` for all its former slots. */
  async waitForFailover(address: string, timeoutMs = 30_000): Promise<void> {
    await this.#until(async () => !(await this.primaries()).includes(address) && (await this.#allRunningAgree()), timeoutMs, `no failover of ${address}`);
  }

  /**
   * Resolves once every running node says `cluster_state:ok`, every slot is served, and every primary has the
   * configured number of replicas online (CLUSTER SLOTS leaves out replicas still loading their first sync).
   */
  async waitUntilHealthy(timeoutMs = 60_000): Promise<void> {
    await this.#until(
      async () => {
        if (!(await this.#allRunningAgree())) return false;
        const slots = (await this.#ask((redis) => redis.cluster('SLOTS'))) as unknown[][];
        let covered = 0;
        for (const range of slots) {
          if (range.length - 3 < this.options.replicasPerPrimary) return false;
          covered += (range[1] as number) - (range[0] as number) + 1;
        }
        return covered === 16384;
      },
      timeoutMs,
      'the cluster did not become healthy',
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.process?.stop('SIGKILL')));
    await rm(this.dir, { recursive: true, force: true });
  }

  async #startNewNode(): Promise<ClusterNode> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const busPort = await freePort();
      try {
        const process = await startRedisNode({ port, dir: this.dir, cluster: { busPort, nodeTimeoutMs: this.options.nodeTimeoutMs } });
        return { port, busPort, address: `127.0.0.1:${port}`, process };
      } catch (err) {
        // Another process took a port between freePort() and redis-server: pick others.
        if (!(err instanceof RedisServerError) || attempt >= 5) throw err;
      }
    }
  }

  #node(address: string): ClusterNode {
    const node = this.nodes.find((n) => n.address === address);
    if (node === undefined) throw new Error(`${address} is not a node of this cluster`);
    return node;
  }

  async #allRunningAgree(): Promise<boolean> {
    for (const node of this.nodes) {
      if (!node.process?.running) continue;
      const info = await this.#askNode(node, (redis) => redis.cluster('INFO')).catch(() => '');
      if (!String(info).includes('cluster_state:ok')) return false;
    }
    return true;
  }

  /** Asks the first running node that answers. */
  async #ask<T>(question: (redis: Redis) => Promise<T>): Promise<T> {
    let lastError: unknown = new Error('no node is running');
    for (const node of this.nodes) {
      if (!node.process?.running) continue;
      try {
        return await this.#askNode(node, question);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  async #askNode<T>(node: ClusterNode, question: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return await question(redis);
    } finally {
      redis.disconnect();
    }
  }

  /** Re-checks `condition` every 100 ms (Redis has no event to wait on) until true or `timeoutMs`. */
  async #until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await condition().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
