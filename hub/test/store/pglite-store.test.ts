import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEventBody } from '@opshub/schema';
import { createEvent, DataDirLockedError, getEvent, getTicket, listTickets, PgliteStore } from '../../src/store/index.ts';
import { storeContract } from './store-contract.ts';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { readPgliteTemplate, writePgliteTemplate } from '../../src/store/pglite/pglite-template.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'opshub-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

storeContract('pglite in memory', () => new PgliteStore(), { persistent: false });
storeContract('pglite on disk', () => new PgliteStore({ dataDir: join(root, 'contract') }), { persistent: true });

describe('PgliteStore data folder lock', () => {
  it('refuses a second store on the same folder while the first is open, and frees the folder on close', async () => {
    const dataDir = join(root, 'shared');
    const first = new PgliteStore({ dataDir });
    await first.start();
    try {
      const second = new PgliteStore({ dataDir });
      const refused = second.start();
      await expect(refused).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(refused).rejects.toMatchObject({ pid: process.pid, dataDir });
      await expect(refused).rejects.toThrow(`another opshub process (pid ${process.pid}) uses DATA_DIR ${dataDir}`);
      // the refused store touched nothing: the first still works and still owns the lock
      await createEvent(first.db, CreateEventBody.parse({ id: 'lock-1', name: 'Lock' }));
      expect(await readFile(join(dataDir, 'pg.lock'), 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      await first.close();
    }
    await expect(stat(join(dataDir, 'pg.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
    const third = new PgliteStore({ dataDir });
    await third.start();
    expect((await getEvent(third.db, 'lock-1'))?.name).toBe('Lock');
    await third.close();
  });

  it('takes over a lock left by a dead process and clears its leftover postmaster.pid', async () => {
    const dataDir = join(root, 'stale');
    const seed = new PgliteStore({ dataDir });
    await seed.start();
    await createEvent(seed.db, CreateEventBody.parse({ id: 'stale-1', name: 'Before the crash' }));
    await seed.close();

    const deadPid = await pidOfExitedProcess();
    const leftover = `-42\n/tmp/pglite/base\n${Math.floor(Date.now() / 1000)}\n5432\n/tmp\n*\n  5432001 0\nready   \n`;
    await writeFile(join(dataDir, 'pg.lock'), `${deadPid}\n`);
    await writeFile(join(dataDir, 'pg', 'postmaster.pid'), leftover);

    const store = new PgliteStore({ dataDir });
    await store.start();
    try {
      expect((await getEvent(store.db, 'stale-1'))?.name).toBe('Before the crash');
      expect(await readFile(join(dataDir, 'pg.lock'), 'utf8')).toBe(`${process.pid}\n`);
      expect(await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).not.toBe(leftover);
    } finally {
      await store.close();
    }
  });

  it('treats an empty or garbled lock file as stale', async () => {
    const dataDir = join(root, 'garbled');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'pg.lock'), 'not a pid');
    const store = new PgliteStore({ dataDir });
    await store.start();
    expect(await readFile(join(dataDir, 'pg.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await store.close();
  });

  it('reopens a folder whose owner was killed with SIGKILL, with everything it had committed', async () => {
    const dataDir = join(root, 'killed');
    const fixture = fileURLToPath(new URL('./fixtures/hold-store.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => line === 'ready' && resolve());
      void exited.then(([code]) => reject(new Error(`child exited (${code}) before ready: ${stderr}`)));
    });
    await ready;
    expect(await readFile(join(dataDir, 'pg.lock'), 'utf8')).toBe(`${child.pid}\n`);

    child.kill('SIGKILL');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');

    const store = new PgliteStore({ dataDir });
    await store.start();
    try {
      expect((await getEvent(store.db, 'killed'))?.zones).toEqual([{ id: 'hall', name: 'Hall', capacity: 10 }]);
      expect(await listTickets(store.db, 'killed', { limit: 1000 })).toHaveLength(250);
      expect(await getTicket(store.db, 'killed', 'K249')).toMatchObject({ zones: ['hall'], status: 'valid' });
    } finally {
      await store.close();
    }
  });
});

/** The pid of a process that has already exited: a lock holding it is stale. */
async function pidOfExitedProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

describe('PgliteStore from a template (PGLITE_TEMPLATE)', () => {
  /** A template holding a marker table, so a test can tell a database that came from it. */
  async function markedTemplate(marker: string): Promise<string> {
    const plain = join(root, `${marker}-plain.tar`);
    await writePgliteTemplate(plain);
    const pglite = await PGlite.create({ loadDataDir: await readPgliteTemplate(plain) });
    await pglite.exec(`create table ${marker} (id int)`);
    const file = join(root, `${marker}.tar`);
    await writeFile(file, Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer()));
    await pglite.close();
    return file;
  }
  const hasTable = async (store: PgliteStore, table: string) =>
    (await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name = ${table}`.execute(store.db)).rows[0]!.n === 1;

  it('starts a new database from the template, migrated, on disk and in memory; an existing one is opened as it is', async () => {
    const first = await markedTemplate('from_first');
    const dataDir = join(root, 'templated');
    const store = new PgliteStore({ dataDir, template: first });
    await store.start();
    expect(await hasTable(store, 'from_first')).toBe(true);
    expect(await migrateToLatest(store.db)).toEqual([]);
    await createEvent(store.db, CreateEventBody.parse({ id: 'tpl-1', name: 'Kept' }));
    await store.close();

    // Restarted with another template: the database exists, so the template is not used and nothing is lost.
    const second = await markedTemplate('from_second');
    const reopened = new PgliteStore({ dataDir, template: second });
    await reopened.start();
    expect((await getEvent(reopened.db, 'tpl-1'))?.name).toBe('Kept');
    expect(await hasTable(reopened, 'from_second')).toBe(false);
    await reopened.close();

    const inMemory = new PgliteStore({ template: second });
    await inMemory.start();
    expect(await hasTable(inMemory, 'from_second')).toBe(true);
    await createEvent(inMemory.db, CreateEventBody.parse({ id: 'tpl-2', name: 'In memory' }));
    await inMemory.close();
  }, 90_000);

  it('refuses to start, and says which file, when the template cannot be read', async () => {
    const store = new PgliteStore({ template: join(root, 'no-such-template.tar') });
    await expect(store.start()).rejects.toThrow(/no-such-template\.tar/);
  });
});
