import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DataDirLockedError } from '../errors.ts';

/** This process's claim on a data folder; `release()` gives it up (safe to call twice). */
export interface DataDirLock {
  readonly file: string;
  /** pid of the dead process whose lock was taken over, if any: its files in the folder are leftovers. */
  readonly staleOwner: number | undefined;
  release(): Promise<void>;
}

/**
 * Claims `dataDir` for this process with a lock file (`<dataDir>/<name>`) holding our pid, created atomically.
 * A lock held by a live process (this one included) is refused; one left by a dead process is taken over.
 *
 * Liveness is judged by pid on this machine, so a data folder shared over a network between machines is not guarded,
 * and a pid reused after a reboot reads as alive (the error then says which file to delete).
 * Two processes taking over the same stale lock at the same instant can both succeed; starting one hub per folder
 * is the deployment's job, the lock only catches mistakes.
 *
 * @throws {DataDirLockedError} when a live process holds the lock
 * @example
 * const lock = await lockDataDir('./data', 'pg.lock');
 * try { ... } finally { await lock.release(); }
 */
export async function lockDataDir(dataDir: string, name: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  const file = join(dir, name);
  await mkdir(dir, { recursive: true });
  let staleOwner: number | undefined;
  // Each pass either takes the lock, throws, or removes a stale lock; a few passes absorb races with other starters.
  for (let pass = 0; pass < 5; pass++) {
    if (await createExclusive(file, `${process.pid}\n`)) {
      return { file, staleOwner, release: () => removeIfOwner(file, process.pid) };
    }
    const owner = await readOwner(file);
    if (owner === 'gone') continue;
    if (owner !== 'unreadable' && isAlive(owner)) throw new DataDirLockedError(dir, owner, file);
    if (owner !== 'unreadable') staleOwner = owner;
    await removeIfOwner(file, owner);
  }
  throw new Error(`could not lock ${file}: it kept changing while we tried; is another process starting on ${dir}?`);
}

async function createExclusive(file: string, content: string): Promise<boolean> {
  try {
    await writeFile(file, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * The pid in the lock file. An empty file is a writer between its create and its write: give it a moment; one that
 * stays empty (or holds garbage) was left by a crash right there and reads as `unreadable` (stale).
 */
async function readOwner(file: string): Promise<number | 'gone' | 'unreadable'> {
  for (let attempt = 0; attempt < 10; attempt++) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw error;
    }
    const pid = Number(text.trim());
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
    if (text.trim() !== '') return 'unreadable';
    await delay(20);
  }
  return 'unreadable';
}

/** Deletes the lock file only while it still holds `owner`, so we never remove a lock someone else just took. */
async function removeIfOwner(file: string, owner: number | 'unreadable'): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === undefined) return;
  const pid = Number(current.trim());
  const matches = owner === 'unreadable' ? !(Number.isSafeInteger(pid) && pid > 0) : pid === owner;
  if (matches) await unlink(file).catch((error: NodeJS.ErrnoException) => { if (error.code !== 'ENOENT') throw error; });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
