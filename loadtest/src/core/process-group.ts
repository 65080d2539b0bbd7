import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, cpus as osCpus } from 'node:os';
import { createInterface } from 'node:readline';
import { RpcClient, type RpcSpec } from './rpc.ts';

/** Which CPUs the servers and the client processes get (taskset lists), or none when pinning is unavailable. */
export interface CpuLayout {
  readonly pinned: boolean;
  /** CPU list per server slot: a second hub (cross-hub) takes slot 1, which is slot 0's core on small machines */
  readonly servers: readonly [string, string];
  readonly clients: string;
  readonly clientCores: number;
  readonly description: string;
}

/**
 * Servers on the first core(s), client processes on the rest, so a server never competes with the clients
 * measuring it. On two cores: servers on CPU 0, clients and the driver on CPU 1.
 * @example cpuLayout() // { pinned: true, servers: ['0', '0'], clients: '1', ... } on a 2-core machine
 */
export function cpuLayout(): CpuLayout {
  const cores = availableParallelism();
  if (cores < 2 || !hasTaskset()) {
    return { pinned: false, servers: ['', ''], clients: '', clientCores: Math.max(1, cores - 1), description: `not pinned (${cores} CPU${cores === 1 ? '' : 's'}${hasTaskset() ? '' : ', no taskset'})` };
  }
  const servers: [string, string] = cores >= 4 ? ['0', '1'] : ['0', '0'];
  const firstClient = cores >= 4 ? 2 : 1;
  const clients = firstClient === cores - 1 ? String(firstClient) : `${firstClient}-${cores - 1}`;
  return { pinned: true, servers, clients, clientCores: cores - firstClient, description: `servers on CPU ${[...new Set(servers)].join(',')}, clients on CPU ${clients} (taskset)` };
}

let tasksetPresent: boolean | undefined;
function hasTaskset(): boolean {
  if (tasksetPresent === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      tasksetPresent = true;
    } catch {
      tasksetPresent = false;
    }
  }
  return tasksetPresent;
}

/** Pins every thread of `pid` to `cpus` (a taskset list); a no-op when `cpus` is empty. */
export function pin(pid: number, cpus: string): void {
  if (cpus) execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
}

export interface SpawnOptions {
  readonly name: string;
  /** absolute path of a .ts entry; run through tsx */
  readonly script: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** extra node flags, e.g. --expose-gc, --cpu-prof */
  readonly nodeArgs?: readonly string[];
  /**
   * taskset CPU list to start on. Absent or '': every CPU of the machine, not the driver's own: the driver pins
   * itself to the client core, and a child would otherwise inherit that (servers starting, and chDB measuring, on one
   * core while the other idles).
   */
  readonly cpus?: string;
}

/** A child process the group owns, with its RPC client. */
export class ManagedProcess<S extends RpcSpec> {
  readonly rpc: RpcClient<S>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #tail: string[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    verbose: boolean,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (line: string) => {
      this.#tail.push(line);
      if (this.#tail.length > 40) this.#tail.shift();
      if (verbose) process.stderr.write(`[${name}] ${line}\n`);
    };
    createInterface({ input: child.stdout! }).on('line', keep);
    createInterface({ input: child.stderr! }).on('line', keep);
    this.rpc = new RpcClient<S>(child, name, () => this.#tail.join('\n'));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process printed. */
  get output(): string {
    return this.#tail.join('\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const tsxLoader = import.meta.resolve('tsx');

/**
 * Every process the driver starts, so that every one of them is stopped: on success, on failure, on SIGINT.
 * Children also exit by themselves when the driver's IPC channel closes (see `serve`), which covers a driver
 * killed with SIGKILL.
 */
export class ProcessGroup {
  readonly #live = new Set<ManagedProcess<RpcSpec>>();
  readonly #adopted = new Set<ChildProcess>();
  /** pids of every process started, for the run report */
  readonly started: number[] = [];

  constructor(
    private readonly verbose = false,
    /** `nice` value for every process started (negative raises priority; needs root or CAP_SYS_NICE) */
    private readonly niceness = 0,
  ) {}

  spawnNode<S extends RpcSpec>(options: SpawnOptions): ManagedProcess<S> {
    // nice and taskset exec the next command, so node keeps their pid, priority (all its threads) and CPUs.
    let argv = [process.execPath, '--import', tsxLoader, ...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])];
    const cpus = options.cpus || (hasTaskset() ? `0-${osCpus().length - 1}` : '');
    if (cpus) argv = ['taskset', '-c', cpus, ...argv];
    if (this.niceness !== 0) argv = ['nice', '-n', String(this.niceness), ...argv];
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const managed = new ManagedProcess<S>(options.name, child, this.verbose);
    if (child.pid !== undefined) this.started.push(child.pid);
    if (this.verbose) process.stderr.write(`[bench] started ${options.name} (pid ${child.pid})\n`);
    this.#live.add(managed as ManagedProcess<RpcSpec>);
    void managed.exited.then(() => this.#live.delete(managed as ManagedProcess<RpcSpec>));
    child.on('error', () => {}); // reported through `exited` and the RPC client
    return managed;
  }

  /** Takes ownership of a process started elsewhere (a private redis-server): stopped with the rest. */
  adopt(child: ChildProcess): void {
    if (child.pid !== undefined) this.started.push(child.pid);
    this.#adopted.add(child);
    child.once('exit', () => this.#adopted.delete(child));
  }

  /** Stops every live process (SIGTERM, then SIGKILL). */
  async stopAll(graceMs = 5000): Promise<void> {
    const adopted = [...this.#adopted].map(
      (child) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => (clearTimeout(timer), resolve()));
          child.kill('SIGTERM');
        }),
    );
    await Promise.all([...[...this.#live].map((p) => p.stop(graceMs)), ...adopted]);
  }

  /** SIGKILLs every live process at once: for `process.on('exit')`, where nothing asynchronous runs any more. */
  killAllNow(): void {
    for (const p of this.#live) p.kill('SIGKILL');
    for (const child of this.#adopted) child.kill('SIGKILL');
  }
}
