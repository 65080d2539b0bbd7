import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderLockedError, lockFolder } from '../src/folder-lock.ts';
import { isProcessAlive } from '../src/process-alive.ts';

const folders: string[] = [];
afterEach(async () => {
  for (const dir of folders.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opshub-lock-'));
  folders.push(dir);
  return dir;
}
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

describe('isProcessAlive', () => {
  it('is true for this process and false for an exited one or a pid that cannot exist', async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(await deadPid())).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
    expect(isProcessAlive(Number.NaN)).toBe(false);
  });
});

describe('lockFolder', () => {
  it('writes our pid, refuses while held (this process too), and leaves nothing behind on release', async () => {
    const file = join(await folder(), 'x.lock');
    const lock = await lockFolder(file);
    expect(await readFile(file, 'utf8')).toBe(`${process.pid}\n`);
    const refused = lockFolder(file);
    await expect(refused).rejects.toBeInstanceOf(FolderLockedError);
    await expect(refused).rejects.toMatchObject({ owner: process.pid, file });
    await lock.release();
    await lock.release(); // twice is harmless
    expect(await readdir(join(file, '..'))).toEqual([]);
  });

  it('takes over a dead owner\'s lock and names it, and a lock holding garbage', async () => {
    const dir = await folder();
    const dead = await deadPid();
    await writeFile(join(dir, 'a.lock'), `${dead}\n`);
    const a = await lockFolder(join(dir, 'a.lock'));
    expect(a.staleOwner).toBe(dead);
    expect(await readFile(join(dir, 'a.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await writeFile(join(dir, 'b.lock'), 'not a pid');
    const b = await lockFolder(join(dir, 'b.lock'));
    expect(b.staleOwner).toBeUndefined();
    await a.release();
    await b.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('waits for a live owner with waitMs and gets the lock once it is released', async () => {
    const file = join(await folder(), 'w.lock');
    const first = await lockFolder(file);
    setTimeout(() => void first.release(), 150);
    const second = await lockFolder(file, { waitMs: 5_000, pollMs: 20 });
    expect(await readFile(file, 'utf8')).toBe(`${process.pid}\n`);
    await second.release();
  });

  it('release never removes a lock another process holds by then', async () => {
    const file = join(await folder(), 'r.lock');
    const lock = await lockFolder(file);
    await writeFile(file, `${process.ppid}\n`); // as if our lock had been taken over and re-taken by another process
    await lock.release();
    expect(await readFile(file, 'utf8')).toBe(`${process.ppid}\n`);
  });
});
