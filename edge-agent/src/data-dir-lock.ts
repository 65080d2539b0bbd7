/**
 * One agent per data folder (`agent.lock`): two processes appending to one log would interleave records. The lock
 * algorithm is the platform's, shared with the hub and the console build; a dead agent's lock is taken over.
 */
import { join } from 'node:path';
import { FolderLockedError, lockFolder, type FolderLock } from '@opshub/platform/folder-lock';

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
}

export type DataDirLock = FolderLock;

/**
 * Takes the folder's lock or throws {@link DataDirLockedError}.
 * @example const lock = await lockDataDir('./data/edge-north'); … await lock.release();
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  try {
    return await lockFolder(join(dir, 'agent.lock'));
  } catch (error) {
    if (!(error instanceof FolderLockedError)) throw error;
    throw new DataDirLockedError(
      `${dir} is in use by process ${error.owner}; one agent per data folder (delete ${error.file} if that process is not an agent)`,
    );
  }
}
