/**
 * Several hub processes on this machine's PostgreSQL and Redis behind one HAProxy: what `npm run cluster` runs, and
 * what the cluster tests and chaos scenarios drive. Each hub gets its own port and `DATA_DIR` (its embedded chDB) and
 * the deployment's shared secrets; HAProxy listens on the one URL clients use.
 */
import type { SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../local/free-port.ts';
import { OwnedProcess } from '../local/owned-process.ts';
import { loadOrCreateClusterSecrets } from './cluster-secrets.ts';
import { haproxyConfig } from './haproxy-config.ts';
import { pollUntil } from './poll-until.ts';

const hubMain = fileURLToPath(new URL('../../../hub/src/main.ts', import.meta.url));
const repoDir = fileURLToPath(new URL('../../../', import.meta.url));

export interface HubClusterOptions {
  /** how many hub processes (default 3) */
  readonly hubs?: number;
  /** where HAProxy listens (default 127.0.0.1:8080) */
  readonly host?: string;
  readonly port?: number;
  /** the cluster's folder: secrets, the HAProxy config, one `DATA_DIR` per hub (default ./data/cluster) */
  readonly dir?: string;
  /** the shared backends; both required */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** more environment for every hub (CLICKHOUSE_URL, LOG_LEVEL, …) */
  readonly env?: Readonly<Record<string, string>>;
  /** seconds a SIGTERM'd hub fails its health check before closing (default 5: HAProxy needs about 3) */
  readonly drainSeconds?: number;
  /** start a hub again when it exits unexpectedly (default false; `npm run cluster` sets true) */
  readonly restartHubs?: boolean;
  /** progress lines (default: none) */
  readonly log?: (line: string) => void;
  /** how long a hub may take to answer /healthz (default 180 s: three hubs loading chDB on two cores) */
  readonly startTimeoutMs?: number;
  /**
   * taskset CPU list the hubs and HAProxy start on (default: this process's own affinity). The bench pins itself to
   * its client core, which children inherit; it starts the cluster on every core instead and pins it afterwards.
   */
  readonly cpus?: string;
}

/** One hub of the cluster. */
export class ClusterHub {
  process: OwnedProcess | undefined;
  /** set while the cluster or a test stops it on purpose, so it is not restarted */
  stopping = false;
  constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

export class HubCluster {
  readonly hubs: ClusterHub[] = [];
  #haproxy: OwnedProcess | undefined;
  #env: Record<string, string> = {};
  #closed = false;
  /** the admin's sign-in link, from the first hub's start-up output */
  signIn: string | undefined;

  private constructor(
    readonly url: string,
    readonly listen: { host: string; port: number },
    readonly dir: string,
    readonly statsSocket: string,
    private readonly options: HubClusterOptions,
  ) {}

  /**
   * Starts the hubs, waits until each answers `/healthz`, then starts HAProxy in front of them.
   * @example const cluster = await HubCluster.start({ databaseUrl, redisUrl }); console.log(cluster.url);
   */
  static async start(options: HubClusterOptions): Promise<HubCluster> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8080;
    const dir = resolve(options.dir ?? './data/cluster');
    await mkdir(dir, { recursive: true });
    const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
    const cluster = new HubCluster(`http://${shownHost}:${port}`, { host, port }, dir, join(dir, 'haproxy.sock'), options);
    try {
      await cluster.#startAll();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  async #startAll(): Promise<void> {
    const log = this.options.log ?? (() => {});
    const secrets = await loadOrCreateClusterSecrets(this.dir);
    this.#env = {
      ...this.options.env,
      DATABASE_URL: this.options.databaseUrl,
      REDIS_URL: this.options.redisUrl,
      HUB_JWT_SECRET: secrets.jwtSecret,
      VAPID_PUBLIC_KEY: secrets.vapidPublicKey,
      VAPID_PRIVATE_KEY: secrets.vapidPrivateKey,
      PUBLIC_URL: this.url,
      HOST: '127.0.0.1',
      // HAProxy connects from loopback: the hubs believe its X-Forwarded-For, so per-client limits see the client.
      TRUSTED_PROXIES: '127.0.0.1,::1',
      HUB_DRAIN_SECONDS: String(this.options.drainSeconds ?? 5),
    };
    const count = this.options.hubs ?? 3;
    for (let i = 1; i <= count; i++) this.hubs.push(new ClusterHub(`hub-${i}`, await freePort(), join(this.dir, `hub-${i}`)));
    log(`starting ${count} hubs (ports ${this.hubs.map((h) => h.port).join(', ')}): opening the database, migrations, chDB…`);
    // One at a time through the migrations would be slower; they run together and the Store's migration lock orders them.
    await Promise.all(this.hubs.map((hub) => this.startHub(hub)));
    log(`hubs ready; starting HAProxy on ${this.listen.host}:${this.listen.port}`);
    await this.#startHaproxy();
  }

  /** Starts (or restarts) one hub and resolves once it answers `/healthz` with 200. */
  async startHub(hub: ClusterHub): Promise<void> {
    hub.stopping = false;
    const child = this.#spawn(hub.name, process.execPath, ['--import', 'tsx', hubMain], {
      cwd: repoDir,
      // N hub processes on one machine already spread over its cores: one socket thread each unless HUB_WORKERS says
      // otherwise (a hub defaults to a worker per core, which N of them would oversubscribe N-fold).
      env: { HUB_WORKERS: '1', ...process.env, ...this.#env, PORT: String(hub.port), DATA_DIR: hub.dataDir },
    });
    hub.process = child;
    void child.exited.then((exit) => {
      if (this.#closed || hub.stopping || hub.process !== child || !this.options.restartHubs) return;
      this.options.log?.(`${hub.name} exited (${exit.signal ?? `code ${exit.code}`}); starting it again`);
      setTimeout(() => void this.startHub(hub).catch((error: unknown) => this.options.log?.(`${hub.name} did not come back: ${String(error)}`)), 1000);
    });
    const timeoutMs = this.options.startTimeoutMs ?? 180_000;
    await pollUntil(`${hub.name} to answer /healthz with 200`, () => answersHealthy(hub.url), { timeoutMs, intervalMs: 250, process: child, story: () => child.tail() });
    // The sign-in link is the last thing a hub prints, a moment after it starts answering.
    this.signIn ??= await pollUntil('the sign-in link', () => signInLine(child.tail()), { timeoutMs: 15_000, intervalMs: 100, process: child }).catch(() => undefined);
  }

  /** Spawns through `taskset` when a CPU list is set (it execs the command: the pid is the command's). */
  #spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): OwnedProcess {
    const cpus = this.options.cpus;
    return cpus ? OwnedProcess.spawn(name, 'taskset', ['-c', cpus, command, ...args], options) : OwnedProcess.spawn(name, command, args, options);
  }

  /** Stops one hub on purpose (SIGTERM drains it first; SIGKILL is a crash) and resolves when it exited. */
  async stopHub(hub: ClusterHub, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    hub.stopping = true;
    await hub.process?.stop(signal, 30_000);
  }

  async #startHaproxy(): Promise<void> {
    const config = join(this.dir, 'haproxy.cfg');
    await writeFile(
      config,
      haproxyConfig({ listen: this.listen, hubs: this.hubs.map((h) => ({ name: h.name, host: '127.0.0.1', port: h.port })), statsSocket: this.statsSocket }),
    );
    const haproxy = this.#spawn('haproxy', 'haproxy', ['-f', config, '-db']);
    this.#haproxy = haproxy;
    await pollUntil(`HAProxy to answer on ${this.url}`, () => answersHealthy(this.url), {
      timeoutMs: 15_000,
      process: haproxy,
      story: () => `${haproxy.running ? '' : "(Debian's package: apt-get install haproxy)\n"}${haproxy.tail()}`,
    });
  }

  /** HAProxy's process id: the bench reads its CPU time and pins it beside the hubs. */
  get haproxyPid(): number | undefined {
    return this.#haproxy?.pid;
  }

  /** HAProxy's last lines: its health-check log (which hub left or joined the rotation, and why). */
  haproxyOutput(): string {
    return this.#haproxy?.tail() ?? '';
  }

  /** HAProxy's view of each hub (`UP`, `DOWN`, `MAINT`…), read from its admin socket. */
  async serverStates(): Promise<Record<string, string>> {
    const rows = await this.serverStats();
    return Object.fromEntries(Object.entries(rows).map(([name, row]) => [name, (row.status ?? '').split(' ')[0]!]));
  }

  /** HAProxy's `show stat` row of each hub (status, check_status, check_code, last_chk, …). */
  async serverStats(): Promise<Record<string, Record<string, string>>> {
    const { createConnection } = await import('node:net');
    const text = await new Promise<string>((resolvePromise, reject) => {
      const socket = createConnection(this.statsSocket);
      let out = '';
      socket.on('data', (d) => (out += d.toString()));
      socket.on('end', () => resolvePromise(out));
      socket.on('error', reject);
      socket.write('show stat\n');
    });
    const [header, ...rows] = text.trim().split('\n');
    const columns = (header ?? '').replace(/^# /, '').split(',');
    const stats: Record<string, Record<string, string>> = {};
    for (const row of rows) {
      const cells = row.split(',');
      const record = Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
      if (record.svname?.startsWith('hub-')) stats[record.svname] = record;
    }
    return stats;
  }

  /** Stops HAProxy and every hub (each drains first). Safe to call twice. */
  async stop(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.hubs.map((hub) => this.stopHub(hub)));
    await this.#haproxy?.stop('SIGTERM', 5_000);
  }
}

/** True when `url`/healthz answers 200 (a refused connection is false: the server is not up yet). */
function answersHealthy(url: string): Promise<boolean> {
  return fetch(`${url}/healthz`).then((r) => r.ok, () => false);
}

function signInLine(output: string): string | undefined {
  return output
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('sign in'));
}

/** Whether HAProxy can be run here (Debian's package). */
export function haproxyInstalled(): boolean {
  return ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].some((path) => existsSync(path));
}
