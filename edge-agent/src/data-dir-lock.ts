/**
 * One agent per data folder: two processes appending to one log would interleave records. The lock is a file with
 * the owner's pid, created exclusively; a lock whose process is gone (the agent was killed) is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
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
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
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
