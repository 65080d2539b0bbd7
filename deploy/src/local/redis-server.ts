import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { OwnedProcess } from './owned-process.ts';

/** redis-server could not be started (not installed, or it exited at once); the message carries its output. */
export class RedisServerError extends Error {
  override readonly name = 'RedisServerError';
}

export interface RedisNodeOptions {
  readonly port: number;
  /** working folder: nodes.conf, the AOF */
  readonly dir: string;
  /** cluster mode: the cluster bus port and the node timeout (failure detection) */
  readonly cluster?: { readonly busPort: number; readonly nodeTimeoutMs: number };
  /** append-only file with fsync every second, so a graceful restart keeps the data (default off) */
  readonly persistent?: boolean;
}

/**
 * Starts one `redis-server` on loopback and resolves once it answers PING.
 * @example const node = await startRedisNode({ port: 17001, dir: '/tmp/r1' });
 */
export async function startRedisNode(options: RedisNodeOptions): Promise<OwnedProcess> {
  const args = ['--port', String(options.port), '--bind', '127.0.0.1', '--dir', options.dir, '--save', '', '--protected-mode', 'no', '--logfile', ''];
  args.push('--appendonly', options.persistent ? 'yes' : 'no');
  if (options.cluster) {
    args.push('--cluster-enabled', 'yes', '--cluster-port', String(options.cluster.busPort));
    args.push('--cluster-config-file', join(options.dir, `nodes-${options.port}.conf`), '--cluster-node-timeout', String(options.cluster.nodeTimeoutMs));
  }
  const server = OwnedProcess.spawn(`redis-server:${options.port}`, 'redis-server', args);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!server.running) throw new RedisServerError(`redis-server on port ${options.port} exited:\n${server.tail()}`);
    if (await ping(options.port)) return server;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await server.stop('SIGKILL');
  throw new RedisServerError(`redis-server on port ${options.port} did not answer within 15 s:\n${server.tail()}`);
}

/**
 * True when something on 127.0.0.1:`port` answers PING like Redis.
 * @example await ping(6379); // true
 */
export function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/**
 * A private, persistent `redis-server` on a free loopback port (never the shared 6379), for tests and the bench that
 * stop and restart Redis under load. `restart()` keeps the port and the data, as a service restart would.
 *
 * @example
 * const redis = await LocalRedis.start();
 * await redis.restart();             // SIGTERM (Redis writes its AOF), then the same port again
 * await redis.close();
 */
export class LocalRedis {
  #server: OwnedProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<LocalRedis> {
    const dir = await mkdtemp(join(tmpdir(), 'opshub-redis-'));
    for (let attempt = 1; ; attempt++) {
      const redis = new LocalRedis(await freePort(), dir);
      try {
        await redis.up();
        return redis;
      } catch (err) {
        if (attempt >= 5) throw err; // another process took the port between freePort() and redis-server
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#server?.running ?? false;
  }

  /** Stops it: SIGTERM lets Redis finish its AOF; SIGKILL is a crash. */
  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.#server?.stop(signal);
    this.#server = undefined;
  }

  async up(): Promise<void> {
    if (this.running) return;
    this.#server = await startRedisNode({ port: this.port, dir: this.dir, persistent: true });
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.down(signal);
    await this.up();
  }

  async close(): Promise<void> {
    await this.down('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
