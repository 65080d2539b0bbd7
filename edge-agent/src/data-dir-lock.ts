/**
 * One agent per data folder: two processes appending to one log would interleave records. The lock is a file with
 * the owner's pid, created exclusively; a lock whose process is gone (the agent was killed) is taken over.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
}

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Takes the folder's lock or throws {@link DataDirLockedError}.
 * @example const lock = await lockDataDir('./data/edge-north'); … await lock.release();
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, 'agent.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    // Written whole under a temporary name, then linked into place: the lock appears with its pid in it or not at all,
    // so an agent starting at the same instant never reads an empty lock and takes it for a dead one's.
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
    await writeFile(temporary, `${process.pid}\n`);
    try {
      await link(temporary, path);
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(temporary, { force: true });
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new DataDirLockedError(`${dir} is in use by process ${owner}; one agent per data folder (delete ${path} if that process is not an agent)`);
    }
    await rm(path, { force: true });
  }
  throw new DataDirLockedError(`could not lock ${dir}: another agent is starting on it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
