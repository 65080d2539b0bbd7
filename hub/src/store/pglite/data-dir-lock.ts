/**
 * The hub's claim on its PGlite data folder (`<DATA_DIR>/pg.lock`), one process at a time: two PGlite instances on
 * one folder would corrupt it. The lock algorithm is the platform's, shared with the edge agent and the console build.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FolderLockedError, lockFolder, type FolderLock } from '@opshub/platform/folder-lock';
import { DataDirLockedError } from '../errors.ts';

export type DataDirLock = FolderLock;

/**
 * Claims `dataDir` for this process with the lock file `name`.
 * @throws {DataDirLockedError} when a live process (this one included) holds the lock
 * @example
 * const lock = await lockDataDir('./data', 'pg.lock');
 * try { ... } finally { await lock.release(); }
 */
export async function lockDataDir(dataDir: string, name: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  try {
    return await lockFolder(join(dir, name));
  } catch (error) {
    if (error instanceof FolderLockedError) throw new DataDirLockedError(dir, error.owner, error.file);
    throw error;
  }
}
