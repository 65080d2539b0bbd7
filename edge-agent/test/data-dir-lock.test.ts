import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from '../src/data-dir-lock.ts';
import { tempFolder } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const folder = () => tempFolder(cleanups);

describe('one agent per data folder', () => {
  it('holds the folder with its pid, refuses a second agent while held, and frees it on release', async () => {
    const dir = await folder();
    const lock = await lockDataDir(dir);
    expect(await readFile(join(dir, 'agent.lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect(await readdir(dir)).toEqual(['agent.lock']);
    // Another live process's lock: this process cannot take it (our own pid would read as re-entry).
    await writeFile(join(dir, 'agent.lock'), `${process.ppid}\n`);
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(lockDataDir(dir)).rejects.toThrow(`in use by process ${process.ppid}`);
    // Releasing ours leaves the other process's lock alone; once it is gone, the folder is free again.
    await lock.release();
    expect(await readFile(join(dir, 'agent.lock'), 'utf8')).toBe(`${process.ppid}\n`);
    await rm(join(dir, 'agent.lock'));
    await (await lockDataDir(dir)).release();
    await expect(readdir(dir)).resolves.toEqual([]);
  });

  it('takes over the lock of an agent that died', async () => {
    const dir = await folder();
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    await writeFile(join(dir, 'agent.lock'), `${child.pid}\n`);
    const lock = await lockDataDir(dir);
    expect(await readFile(join(dir, 'agent.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('lets exactly one of several agents starting at once on a new folder have it', async () => {
    const dir = await folder();
    const fixture = fileURLToPath(new URL('./fixtures/hold-lock.ts', import.meta.url));
    const starters = Array.from({ length: 5 }, () => spawn(process.execPath, ['--import', 'tsx', fixture, dir], { stdio: ['pipe', 'pipe', 'inherit'] }));
    cleanups.push(async () => {
      for (const child of starters) child.stdin!.end();
      await Promise.all(starters.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)));
    });
    const said = await Promise.all(starters.map(async (child) => String((await once(child.stdout!, 'data'))[0]).trim()));
    expect(said.filter((s) => s === 'locked')).toHaveLength(1);
    expect(said.filter((s) => s === 'refused')).toHaveLength(4);
    const holder = starters[said.indexOf('locked')]!;
    expect(await readFile(join(dir, 'agent.lock'), 'utf8')).toBe(`${holder.pid}\n`);
    expect(await readdir(dir)).toEqual(['agent.lock']);
  });
});
