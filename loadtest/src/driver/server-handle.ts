import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pin, type ManagedProcess, type ProcessGroup } from '../core/process-group.ts';
import type { MemoryParts, PublishPlan, PublishReport, ServerReady, ServerSpec, ServerStats } from '../core/specs.ts';
import type { Target } from './targets.ts';

export interface ServerStart {
  readonly group: ProcessGroup;
  readonly target: Target;
  readonly name: string;
  /** where temp data folders go; the driver removes the whole folder at the end */
  readonly runDir: string;
  readonly env: Readonly<Record<string, string>>;
  /** taskset list the server is pinned to once it listens */
  readonly cpus: string;
  readonly nodeArgs?: readonly string[];
}

/**
 * A server process under test. It starts unpinned (a hub's start-up, PGlite and chDB, then uses both cores) and
 * is pinned to its core once it listens, before anything is measured.
 */
export class ServerHandle {
  /** a client has connected to it: it is no longer a clean slate for memory figures */
  used = false;

  private constructor(
    readonly target: Target,
    readonly process: ManagedProcess<ServerSpec>,
    readonly port: number,
    /** the server's own pid (its CPU time is read from /proc/PID/stat) */
    readonly pid: number,
  ) {}

  static async start(options: ServerStart): Promise<ServerHandle> {
    const dataDir = await mkdtemp(join(options.runDir, `${options.name}-`));
    const proc = options.group.spawnNode<ServerSpec>({
      name: options.name,
      script: options.target.script,
      env: { ...options.env, BENCH_DATA_DIR: dataDir },
      nodeArgs: ['--expose-gc', ...(options.nodeArgs ?? [])],
    });
    void proc.exited.then(() => rm(dataDir, { recursive: true, force: true }).catch(() => {}));
    // Generous: on a 2-core machine shared with other work a hub's start (PGlite, chDB) has taken 80 s.
    const ready = await proc.rpc.event<ServerReady>('ready', 300_000);
    pin(ready.pid, options.cpus);
    return new ServerHandle(options.target, proc, ready.port, ready.pid);
  }

  get url(): string {
    return this.target.url(this.port);
  }

  publish(plan: PublishPlan): Promise<PublishReport> {
    return this.process.rpc.call('publish', plan, plan.durationMs + 60_000);
  }

  stats(gc = true): Promise<ServerStats> {
    return this.process.rpc.call('stats', { gc });
  }

  /** What the server's parts hold now (opshub: PGlite's wasm and heap, chDB's tracked memory). */
  parts(): Promise<MemoryParts> {
    return this.process.rpc.call('parts', {}, 60_000);
  }

  heapSnapshot(file: string): Promise<{ file: string }> {
    return this.process.rpc.call('heapSnapshot', { file }, 300_000);
  }

  /** Graceful close (so --cpu-prof profiles are written), SIGKILL when it does not finish. */
  async stop(): Promise<void> {
    if (!this.process.alive) return;
    await this.process.rpc.call('close', {}, 15_000).catch(() => {});
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await this.process.exited;
    clearTimeout(timer);
  }

  /** `kill -9`: no goodbye to clients or Redis. */
  async kill9(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.process.exited;
  }
}
