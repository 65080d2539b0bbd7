import { type SpawnOptions, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const living = new Set<ChildProcess>();
let reaperInstalled = false;

/** Whatever happens to this process, the servers it started for itself do not outlive it. */
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.once('exit', () => {
    for (const child of living) child.kill('SIGKILL');
  });
}

/**
 * A server process started for a test, the bench or `npm run cluster` (redis-server, postgres, haproxy, a hub):
 * its exit as a promise, the last lines it printed, and a guarantee that it is killed when this process exits.
 *
 * @example
 * const redis = OwnedProcess.spawn('redis', 'redis-server', ['--port', '17001']);
 * await redis.stop(); // SIGTERM, then SIGKILL if it does not exit within 10 s
 */
export class OwnedProcess {
  readonly exited: Promise<ProcessExit>;
  readonly #tail: string[] = [];

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    living.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        living.delete(child);
        resolve({ code, signal });
      }),
    );
    const keep = (line: string) => {
      this.#tail.push(line);
      if (this.#tail.length > 60) this.#tail.shift();
    };
    if (child.stdout) createInterface({ input: child.stdout }).on('line', keep);
    if (child.stderr) createInterface({ input: child.stderr }).on('line', keep);
  }

  /** Starts `command`; a missing binary shows as an exit with code 127 and the error in {@link tail}. */
  static spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): OwnedProcess {
    installReaper();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    const owned = new OwnedProcess(name, child);
    child.once('error', (err) => {
      owned.#tail.push(`${command}: ${err.message}`);
      if (child.exitCode === null) child.emit('exit', 127, null);
    });
    return owned;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && living.has(this.child);
  }

  /** The last 60 lines of its output, for error messages. */
  tail(): string {
    return this.#tail.join('\n');
  }

  /** Sends `signal` (no waiting). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Stops it with `signal` and resolves once it exited; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ProcessExit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
