/**
 * One owner per folder: a lock file holding its owner's pid.
 *
 * The file is written whole under a temporary name and then `link()`ed into place, which fails if the lock exists:
 * the lock appears with its pid in it or not at all, so a process starting at the same instant never reads an empty
 * lock and takes it for a dead owner's. A lock held by a live process (this one included: two owners in one process
 * are as wrong as in two) is refused, or waited for with `waitMs`; one whose owner is gone is taken over.
 *
 * Liveness is judged by pid on this machine, so a folder shared between machines is not guarded, and a pid reused
 * after a reboot reads as alive (the error names the file to delete). Two processes taking over the same stale lock
 * in the same few microseconds could both succeed; the lock catches mistakes, deployment keeps one owner per folder.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { isProcessAlive } from './process-alive.ts';

/** The lock is held by a live process. */
export class FolderLockedError extends Error {
  override readonly name = 'FolderLockedError';
  constructor(
    readonly file: string,
    readonly owner: number,
  ) {
    super(`${file} is held by process ${owner}`);
  }
}

export interface FolderLock {
  readonly file: string;
  /** pid of the dead process whose lock was taken over, if any: its files in the folder are leftovers. */
  readonly staleOwner: number | undefined;
  /** Gives the lock up; safe to call twice, and never removes a lock someone else holds by then. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Wait this long for a live owner to let go before refusing (default 0: refuse at once). */
  readonly waitMs?: number;
  /** How often to look again while waiting (default 250 ms). */
  readonly pollMs?: number;
}

/**
 * Takes the lock file `file` (its folder must exist) or throws {@link FolderLockedError}.
 * @example
 * const lock = await lockFolder(join(dataDir, 'pg.lock'));
 * try { ... } finally { await lock.release(); }
 */
export async function lockFolder(file: string, options: LockOptions = {}): Promise<FolderLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  let staleOwner: number | undefined;
  // Each pass takes the lock, or finds a live owner, or clears a stale lock; a few passes absorb other starters.
  for (let clears = 0; ; ) {
    if (await createWhole(file, `${process.pid}\n`)) {
      return { file, staleOwner, release: () => removeIfHeldBy(file, String(process.pid)) };
    }
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined; // released between our link and our read: try again
      throw error;
    });
    if (text === undefined) continue;
    const owner = Number(text.trim());
    if (isProcessAlive(owner)) {
      if (Date.now() >= deadline) throw new FolderLockedError(file, owner);
      await delay(options.pollMs ?? 250);
      continue;
    }
    if (Number.isSafeInteger(owner) && owner > 0) staleOwner = owner;
    await removeIfHeldBy(file, text.trim());
    if (++clears > 20) throw new Error(`could not lock ${file}: it kept changing while we tried; is another process starting on it?`);
  }
}

async function createWhole(file: string, content: string): Promise<boolean> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(temporary, content);
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Deletes the lock only while it still holds `owner`, so we never remove a lock someone else just took. */
async function removeIfHeldBy(file: string, owner: string): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === undefined || current.trim() !== owner) return;
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
