import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.ts';
import { OwnedProcess } from './owned-process.ts';

const run = promisify(execFile);

/** PostgreSQL's server programs are missing, or the server did not start; the message says which and why. */
export class PostgresServerError extends Error {
  override readonly name = 'PostgresServerError';
}

/**
 * The folder holding `initdb` and `postgres`: on PATH, or Debian's `/usr/lib/postgresql/<version>/bin` (the
 * newest), which is not on PATH. Undefined when neither has them.
 * @example postgresBinDir(); // '/usr/lib/postgresql/15/bin'
 */
export function postgresBinDir(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')) && existsSync(join(debian, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(debian, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  return undefined;
}

/** PostgreSQL refuses to run as root: as root the server runs as the `postgres` user, as anyone else as themselves. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]).then(
    (out) => out.map((o) => Number(o.stdout.trim())),
    () => {
      throw new PostgresServerError('running as root and there is no "postgres" user to run PostgreSQL as (Debian package postgresql creates it)');
    },
  );
  return { uid: uid!, gid: gid! };
}

/**
 * A private PostgreSQL on a free loopback port (never the machine's shared 5432): its own cluster made with
 * `initdb` in a temporary folder, trust auth for `postgres`, the socket in that folder too. For tests and the bench
 * that stop, kill and restart the database under load. `restart()` keeps the port and the data, as a service
 * restart would.
 *
 * @example
 * const db = await LocalPostgres.start();
 * new PostgresStore({ url: db.url });
 * await db.restart();          // fast shutdown (SIGINT), then the same port and data again
 * await db.close();
 */
export class LocalPostgres {
  #server: OwnedProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly bin: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  static async start(): Promise<LocalPostgres> {
    const bin = postgresBinDir();
    if (bin === undefined) throw new PostgresServerError('initdb and postgres were not found (Debian package postgresql, /usr/lib/postgresql/*/bin)');
    const user = await serverUser();
    const dir = await mkdtemp(join(tmpdir(), 'opshub-postgres-'));
    try {
      if (user) await chown(dir, user.uid, user.gid);
      // --no-sync: a throwaway cluster; the server itself still fsyncs its commits as configured by default.
      await run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'], {
        ...(user ?? {}),
        timeout: 120_000,
      }).catch((error: { stderr?: string; message: string }) => {
        throw new PostgresServerError(`initdb failed: ${error.stderr || error.message}`);
      });
      for (let attempt = 1; ; attempt++) {
        const db = new LocalPostgres(await freePort(), dir, bin, user);
        try {
          await db.up();
          return db;
        } catch (error) {
          if (attempt >= 5) throw error; // another process took the port between freePort() and postgres
        }
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The `postgres` database as the `postgres` superuser. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    return this.#server?.running ?? false;
  }

  /** The postmaster's pid while it runs. */
  get pid(): number | undefined {
    return this.#server?.pid;
  }

  /** Starts the server on its port and data, and resolves once it answers a query. */
  async up(): Promise<void> {
    if (this.running) return;
    const args = ['-D', join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
    const server = OwnedProcess.spawn(`postgres:${this.port}`, join(this.bin, 'postgres'), args, this.user ?? {});
    this.#server = server;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!server.running) throw new PostgresServerError(`postgres on port ${this.port} exited at start:\n${server.tail()}`);
      if (await this.#answers()) return;
      if (Date.now() > deadline) {
        await server.stop('SIGKILL');
        throw new PostgresServerError(`postgres on port ${this.port} did not answer within 60 s:\n${server.tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Stops it: SIGINT is PostgreSQL's fast shutdown (what a service restart does: sessions are cut, committed work is
   * on disk); SIGKILL is a crash of the postmaster (its backends notice and exit; the next start recovers from WAL).
   */
  async down(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    await this.#server?.stop(signal, 30_000);
    this.#server = undefined;
    // After a SIGKILL the orphaned backends hold the shared memory a moment longer: the next start waits for them.
  }

  async restart(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    await this.down(signal);
    await this.up();
  }

  async close(): Promise<void> {
    await this.down('SIGQUIT'); // immediate shutdown: nothing to keep
    await rm(this.dir, { recursive: true, force: true });
  }

  async #answers(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }
}
