import { randomBytes } from 'node:crypto';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import type { CpuLayout, ProcessGroup } from '../core/process-group.ts';
import type { ConnectionGroup, ConnectPlan } from '../core/specs.ts';
import { ClientPool } from './client-pool.ts';
import { findRedis, type BenchRedis } from './redis.ts';
import { ServerHandle } from './server-handle.ts';
import { opshubTarget, socketioTarget, type Target } from './targets.ts';

export interface RunOptions {
  readonly quick: boolean;
  /** how many times each figure is measured; the median is reported */
  readonly repeats: number;
  /** multiplies every client count (the self-test runs tiny ones) */
  readonly scale: number;
  readonly payloadBytes: number;
  readonly verbose: boolean;
  /** write CPU profiles of the servers (and heap snapshots in idle-memory) here */
  readonly profileDir: string | undefined;
  /** nice value for every process of the run (0: unchanged) */
  readonly nice: number;
}

/**
 * What a scenario gets from the driver: the two targets, servers and client pools that the driver owns (and so
 * stops), tokens, sizes scaled for --quick, and the CPU layout.
 */
export class RunContext {
  readonly runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  /** the opshub event every topic belongs to; unique per run, so runs sharing a Redis never meet */
  readonly event = `bench-${this.runId}`;
  readonly secret = randomBytes(32).toString('base64url');
  readonly opshub: Target = opshubTarget;
  readonly baseline: Target = socketioTarget;
  /**
   * Source addresses on 127.0.0.0/8 used round-robin: each has its own ephemeral port range, so ten thousand
   * connections per scenario, and the TIME_WAIT they leave behind, never exhaust the ports.
   */
  readonly localAddresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  readonly #shared = new Map<string, Promise<ServerHandle>>();
  /** servers started ahead of their scenario (see {@link prestart}), by target, label and slot */
  readonly #stash = new Map<string, Promise<ServerHandle>>();
  readonly #started = performance.now();
  #token: Promise<string> | undefined;
  #redis: Promise<BenchRedis> | undefined;
  #serverCount = 0;

  constructor(
    readonly options: RunOptions,
    readonly group: ProcessGroup,
    readonly layout: CpuLayout,
    /** temp folder for server data; removed by the driver */
    readonly runDir: string,
  ) {}

  get quick(): boolean {
    return this.options.quick;
  }

  get repeats(): number {
    return this.options.repeats;
  }

  log(message: string): void {
    process.stderr.write(`[bench ${((performance.now() - this.#started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
  }

  /** A client count: `full`, or `quick` under --quick, times --scale (at least 2). */
  count(full: number, quick: number): number {
    return Math.max(2, Math.round((this.quick ? quick : full) * this.options.scale));
  }

  /** A duration: `full` ms, or `quick` ms under --quick. */
  ms(full: number, quick: number): number {
    return this.quick ? quick : full;
  }

  /** A staff token for the run's event, signed with the run's secret; one for every connection. */
  token(): Promise<string> {
    this.#token ??= hs256Verifier(this.secret).mint({ sub: 'bench', role: 'staff', events: [this.event] }, '2h');
    return this.#token;
  }

  /**
   * Starts a server of `target`; the caller stops it (the driver stops it anyway at the end).
   * `slot` 1 is the second hub of cross-hub; `redis` puts the server on Redis under a per-run key prefix.
   */
  startServer(target: Target, options: ServerOptions = {}): Promise<ServerHandle> {
    const key = stashKey(target, options);
    const stashed = this.#stash.get(key);
    if (stashed) {
      this.#stash.delete(key);
      return stashed;
    }
    const name = `${target.name}-${options.label ?? 'server'}-${++this.#serverCount}`;
    const profile = this.options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', this.options.profileDir] : [];
    return ServerHandle.start({
      group: this.group,
      target,
      name,
      runDir: this.runDir,
      cpus: options.unpinned ? '' : this.layout.servers[options.slot ?? 0],
      nodeArgs: profile,
      env: {
        ...options.env,
        BENCH_SECRET: this.secret,
        BENCH_EVENT: this.event,
        ...(!options.databaseAsInProduction && { BENCH_PGLITE_TEMPLATE: process.env.PGLITE_TEMPLATE ?? '' }),
        ...(options.redis && { BENCH_REDIS_URL: options.redis.url, BENCH_KEY_PREFIX: `bench:${this.runId}:${target.name}:` }),
      },
    });
  }

  /**
   * The run's single-server instance of `target` (embedded backends), shared by the single-server scenarios:
   * an opshub hub takes seconds to start (PGlite, chDB), and starting one per scenario would eat the --quick budget.
   */
  async shared(target: Target): Promise<ServerHandle> {
    let server = this.#shared.get(target.name);
    if (!server || !(await server).process.alive) {
      server = this.startServer(target, { label: 'shared', databaseAsInProduction: true });
      this.#shared.set(target.name, server);
    }
    return server;
  }

  /**
   * Starts a server now that a scenario will ask for later with the same options. `--quick` starts every server
   * of the run at once, in parallel, before measuring anything: a hub's start-up (PGlite, chDB) is most of a
   * quick run otherwise. Full runs start each server when needed, so no idle server shares a core with a
   * measurement.
   */
  async prestart(target: Target, options: ServerOptions): Promise<void> {
    const key = stashKey(target, options);
    let started = this.#stash.get(key);
    if (!started) {
      started = this.startServer(target, options);
      started.catch(() => {}); // reported when the scenario takes it
      this.#stash.set(key, started);
    }
    await started;
  }

  /**
   * A server no client has touched yet (memory figures need a clean slate): the shared one while it is unused,
   * otherwise a fresh one that `release` stops.
   */
  async pristine(target: Target): Promise<{ server: ServerHandle; release: () => Promise<void> }> {
    const shared = await this.#shared.get(target.name);
    if (!shared || (!shared.used && shared.process.alive)) {
      const server = await this.shared(target);
      return { server, release: async () => {} };
    }
    const server = await this.startServer(target, { label: 'fresh' });
    return { server, release: () => server.stop() };
  }

  /** Client worker processes on the client cores; the caller closes them. */
  clients(name: string, workers = this.layout.clientCores): Promise<ClientPool> {
    return ClientPool.start(this.group, { name, workers, cpus: this.layout.clients });
  }

  /** A connect plan for `target` with the run's token, source addresses and concurrency. */
  async plan(target: Target, groups: readonly ConnectionGroup[]): Promise<ConnectPlan> {
    return {
      target: target.name,
      ...(target.socketioClient && { socketioClient: target.socketioClient }),
      event: this.event,
      token: await this.token(),
      groups,
      concurrency: 200,
      localAddresses: this.localAddresses,
    };
  }

  redis(): Promise<BenchRedis> {
    this.#redis ??= findRedis(this.group);
    return this.#redis;
  }

  /** Stops the shared servers, and any started ahead but never used. */
  async close(): Promise<void> {
    const servers = [...this.#shared.values(), ...this.#stash.values()];
    this.#shared.clear();
    this.#stash.clear();
    await Promise.all(servers.map((s) => s.then((server) => server.stop(), () => {})));
  }
}

export interface ServerOptions {
  /** 1: the second hub of cross-hub (its own core where the machine has one) */
  readonly slot?: 0 | 1;
  /** on Redis, under a per-run key prefix */
  readonly redis?: BenchRedis;
  readonly label?: string;
  /**
   * An opshub server's database is created as in production (initdb in a worker that exits) instead of from the
   * run's migrated template: for the shared server, whose RSS idle-memory reads. Every other opshub server starts
   * from the template (initdb alone is 7 s of a hub's start on a quiet 2-core machine; unpacking the template 2.8 s).
   */
  readonly databaseAsInProduction?: boolean;
  /** not pinned to the server core (a hub with several socket workers needs more than one core to be worth anything) */
  readonly unpinned?: boolean;
  /** more environment for the server (BENCH_HUB_WORKERS, say) */
  readonly env?: Readonly<Record<string, string>>;
}

function stashKey(target: Target, options: ServerOptions): string {
  return `${target.name}/${options.label ?? 'server'}/${options.slot ?? 0}/${options.redis?.url ?? ''}`;
}
