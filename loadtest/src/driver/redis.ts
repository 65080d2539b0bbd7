import { spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import type { ProcessGroup } from '../core/process-group.ts';

/** Redis for the cross-hub scenario: the URL, and how it was found. */
export interface BenchRedis {
  readonly url: string;
  readonly origin: 'existing' | 'started';
}

/** No Redis answers and none could be started: the cross-hub scenario is skipped with this reason. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/**
 * The Redis at REDIS_URL (default redis://127.0.0.1:6379) when it answers PING; otherwise a private
 * `redis-server` on a free loopback port, owned by the process group (stopped with everything else).
 * Only loopback addresses are accepted: the bench sends no traffic off the machine.
 */
export async function findRedis(group: ProcessGroup): Promise<BenchRedis> {
  const url = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  const { hostname, port } = new URL(url);
  if (!/^127\./.test(hostname) && hostname !== 'localhost') {
    throw new RedisUnavailableError(`REDIS_URL points at ${hostname}: the bench only talks to 127.0.0.0/8`);
  }
  if (await ping(hostname === 'localhost' ? '127.0.0.1' : hostname, Number(port || 6379))) return { url, origin: 'existing' };
  const free = await freePort();
  const child = spawn('redis-server', ['--port', String(free), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let failed = false;
  child.once('error', () => (failed = true)); // ENOENT: not installed
  group.adopt(child);
  for (let i = 0; i < 50 && !failed && child.exitCode === null; i++) {
    if (await ping('127.0.0.1', free)) return { url: `redis://127.0.0.1:${free}`, origin: 'started' };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new RedisUnavailableError(`no Redis answers at ${url}, and ${failed ? 'redis-server is not installed' : 'a private redis-server did not start'}`);
}

function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
