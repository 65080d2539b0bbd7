import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { appendScan, readScans, type ScanRecord } from '@opshub/replica';
import { CorruptSnapshotError, DISK_ORIGIN, DiskReplica } from '../src/disk-replica.ts';
import { parseRecords, UpdateLog } from '../src/update-log.ts';
import { tempFolder } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const folder = () => tempFolder(cleanups);

let n = 0;
const byId = (scans: ScanRecord[]): ScanRecord[] => [...scans].sort((a, b) => (a.scanId < b.scanId ? -1 : 1));
const scan = (): ScanRecord => ({ scanId: `scan-${String(++n).padStart(6, '0')}`, code: `T-${n}`, gate: 'north', device: 'dev-a', dir: 'in', at: 1_000 + n, verdict: 'admitted' });

/** Opens a replica whose doc logs every non-disk update, as the agent wires it. */
async function openReplica(dir: string, compactAfterBytes?: number): Promise<{ doc: Y.Doc; replica: DiskReplica }> {
  const doc = new Y.Doc();
  const { replica } = await DiskReplica.open(doc, { dir, ...(compactAfterBytes && { compactAfterBytes }) });
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin !== DISK_ORIGIN) void replica.append(update);
  });
  return { doc, replica };
}

describe('UpdateLog', () => {
  it('reads back whole records and cuts a torn tail before appending', async () => {
    const dir = await folder();
    const path = join(dir, 'updates-0.log');
    const { log } = await UpdateLog.open(path);
    await Promise.all([log.append(new Uint8Array([1, 2, 3])), log.append(new Uint8Array([4]))]);
    await log.close();
    // A crash in the middle of the third record: its header and half its payload.
    await appendFile(path, Buffer.from([10, 0, 0, 0, 9, 9, 9, 9, 1, 2]));
    const reopened = await UpdateLog.open(path);
    expect(reopened.contents.records).toEqual([new Uint8Array([1, 2, 3]), new Uint8Array([4])]);
    expect(reopened.contents.tornBytes).toBe(10);
    await reopened.log.append(new Uint8Array([5]));
    await reopened.log.close();
    expect(parseRecords(await readFile(path)).records).toHaveLength(3);
  });

  it('stops at a record whose checksum fails', () => {
    const good = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 7]);
    good.writeUInt32LE(0x12345678, 4);
    expect(parseRecords(good)).toEqual({ records: [], tornBytes: 9 });
  });
});

describe('DiskReplica', () => {
  it('restores every update after a restart without compaction (as after kill -9)', async () => {
    const dir = await folder();
    const { doc, replica } = await openReplica(dir);
    const written = Array.from({ length: 20 }, () => appendScan(doc, scan(), 'local'));
    await replica.durable();
    // No close(): the process "dies" here.
    const again = await openReplica(dir);
    expect(byId(readScans(again.doc))).toEqual(byId(written));
    await again.replica.close();
    await replica.close().catch(() => {});
  });

  it('compacts into a snapshot, drops old logs, and loads snapshot + new log', async () => {
    const dir = await folder();
    const { doc, replica } = await openReplica(dir, 2048);
    const written: ScanRecord[] = [];
    for (let i = 0; i < 200; i++) {
      written.push(appendScan(doc, scan(), 'local'));
      await replica.durable();
    }
    await replica.compact();
    written.push(appendScan(doc, scan(), 'local'));
    await replica.durable();
    const files = await readdir(dir);
    expect(files).toContain('snapshot.bin');
    expect(files.filter((f) => f.endsWith('.log'))).toHaveLength(1);
    const again = await openReplica(dir);
    expect(byId(readScans(again.doc))).toEqual(byId(written));
    await again.replica.close();
    await replica.close().catch(() => {});
  });

  it('ignores a torn last record', async () => {
    const dir = await folder();
    const { doc, replica } = await openReplica(dir);
    const kept = appendScan(doc, scan(), 'local');
    await replica.durable();
    appendScan(doc, scan(), 'local');
    await replica.durable();
    const log = (await readdir(dir)).find((f) => f.endsWith('.log'))!;
    const size = (await stat(join(dir, log))).size;
    await truncate(join(dir, log), size - 3);
    const again = await openReplica(dir);
    expect(readScans(again.doc)).toEqual([kept]);
    await again.replica.close();
    await replica.close().catch(() => {});
  });

  it('refuses a snapshot that fails its checksum', async () => {
    const dir = await folder();
    const { doc, replica } = await openReplica(dir);
    appendScan(doc, scan(), 'local');
    await replica.close();
    const path = join(dir, 'snapshot.bin');
    const data = await readFile(path);
    data.writeUInt8(data.readUInt8(data.length - 1) ^ 0xff, data.length - 1);
    await writeFile(path, data);
    await expect(DiskReplica.open(new Y.Doc(), { dir })).rejects.toThrow(CorruptSnapshotError);
  });
});
