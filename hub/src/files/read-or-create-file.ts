import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The contents of `file`, creating it first with `create()` when it does not exist. Several processes starting at once
 * agree on one content: it is written whole under a temporary name and linked into place, so the file is either
 * absent or complete (a reader never sees it half-written), and whoever links first wins; the others read the
 * winner's. Used for secrets generated into `DATA_DIR` on first start (the JWT secret, the VAPID key pair).
 * @example const text = await readOrCreateFile('./data/jwt-secret', () => randomBytes(48).toString('base64url') + '\n');
 */
export async function readOrCreateFile(file: string, create: () => string, options: { mode?: number } = {}): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(file), { recursive: true });
  const content = create();
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(temporary, content, { mode: options.mode ?? 0o600 });
  try {
    // link() fails with EEXIST when another process got there first; then its content is the one.
    await link(temporary, file);
    return content;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFile(file, 'utf8');
    throw error;
  } finally {
    await unlink(temporary).catch(() => {});
  }
}
