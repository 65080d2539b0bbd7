/**
 * A stable id for this laptop's replica, chosen once and kept in the data folder: it goes into every scan record
 * (duplicate detection compares devices) and into awareness.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Id } from '@opshub/schema';

/**
 * The device id stored in `dir`, or a new `<gate>-<8 hex>` written there.
 * @example const device = await loadOrCreateDeviceId('./data/edge-north', 'north'); // 'north-3f9a2b1c'
 */
export async function loadOrCreateDeviceId(dir: string, gate: string): Promise<string> {
  const path = join(dir, 'device-id');
  try {
    const stored = Id.safeParse((await readFile(path, 'utf8')).trim());
    if (stored.success) return stored.data;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const device = Id.parse(`${gate.slice(0, 50)}-${randomBytes(4).toString('hex')}`);
  await writeFile(path, `${device}\n`);
  return device;
}
