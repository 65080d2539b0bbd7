/**
 * The agent's doc on disk: a snapshot plus the update logs written since, compacted now and then.
 *
 * Files in the data folder:
 * - `snapshot.bin`: `OPSHUB1\n · u32 gen · u32 crc32 · Yjs update` (the whole doc when the snapshot was taken)
 * - `updates-<gen>.log`: every update since, see `update-log.ts`
 *
 * Compaction starts a new log (gen + 1), encodes the doc, writes the snapshot to a temp file, fsyncs it, renames it
 * over the old one and fsyncs the folder; only then are older logs removed. A crash at any step leaves either the old
 * snapshot with all logs or the new one with the new log, and replaying an update twice is harmless in Yjs.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import * as Y from 'yjs';
import { UpdateLog } from './update-log.ts';

/** Transaction origin of everything replayed from disk: never logged again. */
export const DISK_ORIGIN = 'disk';

const SNAPSHOT_FILE = 'snapshot.bin';
const MAGIC = Buffer.from('OPSHUB1\n');
const LOG_FILE = /^updates-(\d+)\.log$/;

/** The snapshot exists but does not read back: refuse to start rather than serve a partial replica. */
export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
}

export interface DiskReplicaOptions {
  dir: string;
  /**
   * Compact once the active log passes this many bytes (default 4 MiB) and no update came for `idleMs` (default
   * 2 s): encoding a day's doc blocks for up to a second, which should not land in the middle of a queue at the gate.
   * Past four times the bound it compacts regardless.
   */
  compactAfterBytes?: number;
  idleMs?: number;
  /** Told about a failed background compaction (the logs stay, nothing is lost). */
  onError?: (error: unknown) => void;
}

export interface LoadStats {
  snapshotBytes: number;
  logRecords: number;
  tornBytes: number;
  ms: number;
}

export class DiskReplica {
  private retiring: UpdateLog | undefined;
  private compacting: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly doc: Y.Doc,
    private readonly options: Required<Omit<DiskReplicaOptions, 'onError'>> & Pick<DiskReplicaOptions, 'onError'>,
    private log: UpdateLog,
    private gen: number,
  ) {}

  /**
   * Loads snapshot and logs into `doc` (origin {@link DISK_ORIGIN}), in one transaction, and opens the active log.
   * @example const { replica, stats } = await DiskReplica.open(doc, { dir: './data' });
   */
  static async open(doc: Y.Doc, options: DiskReplicaOptions): Promise<{ replica: DiskReplica; stats: LoadStats }> {
    const started = performance.now();
    const dir = options.dir;
    await mkdir(dir, { recursive: true });
    const snapshot = await readSnapshot(join(dir, SNAPSHOT_FILE));
    const gens = (await readdir(dir))
      .map((name) => LOG_FILE.exec(name)?.[1])
      .filter((gen): gen is string => gen !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const stats: LoadStats = { snapshotBytes: snapshot?.update.length ?? 0, logRecords: 0, tornBytes: 0, ms: 0 };
    const records: Uint8Array[] = [];
    let active: UpdateLog | undefined;
    const firstGen = snapshot?.gen ?? 0;
    for (const gen of gens) {
      const path = join(dir, logName(gen));
      // Logs older than the snapshot are inside it: a crash interrupted their removal.
      if (gen < firstGen) {
        await rm(path, { force: true });
        continue;
      }
      const { log, contents } = await UpdateLog.open(path);
      records.push(...contents.records);
      stats.tornBytes += contents.tornBytes;
      if (active) await active.close();
      active = log;
    }
    stats.logRecords = records.length;
    doc.transact(() => {
      if (snapshot) Y.applyUpdate(doc, snapshot.update, DISK_ORIGIN);
      for (const record of records) Y.applyUpdate(doc, record, DISK_ORIGIN);
    }, DISK_ORIGIN);
    const gen = gens.length > 0 ? Math.max(firstGen, gens[gens.length - 1]!) : firstGen;
    active ??= (await UpdateLog.open(join(dir, logName(gen)))).log;
    await syncDir(dir);
    const resolved = { compactAfterBytes: 4 * 1024 * 1024, idleMs: 2000, ...options };
    stats.ms = performance.now() - started;
    return { replica: new DiskReplica(doc, resolved, active, gen), stats };
  }

  /**
   * Appends one update to the active log; resolves when it is on disk. Compaction is started in the background
   * when the log has grown past its bound.
   * @example doc.on('update', (update, origin) => { if (origin !== DISK_ORIGIN) void replica.append(update); });
   */
  append(update: Uint8Array): Promise<void> {
    const written = this.log.append(update);
    const bound = this.options.compactAfterBytes;
    if (this.log.bytes > bound && !this.compacting && !this.closed) {
      clearTimeout(this.idleTimer);
      const compact = (): void => void this.compact().catch((error: unknown) => this.options.onError?.(error));
      if (this.log.bytes > 4 * bound) setImmediate(compact);
      else this.idleTimer = setTimeout(compact, this.options.idleMs);
    }
    return written;
  }

  /** Resolves once every update appended so far is on disk. */
  async durable(): Promise<void> {
    await Promise.all([this.log.durable(), this.retiring?.durable()]);
  }

  /** Bytes in the active log. */
  get logBytes(): number {
    return this.log.bytes;
  }

  /**
   * Writes the doc as a new snapshot and drops the logs it covers.
   * @example await replica.compact();
   */
  compact(): Promise<void> {
    this.compacting ??= this.compactNow().finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  /** Compacts (so the next start reads one file) and closes the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.idleTimer);
    await this.compacting;
    try {
      await this.compact();
    } finally {
      this.closed = true;
      await this.log.close();
    }
  }

  private async compactNow(): Promise<void> {
    const dir = this.options.dir;
    const gen = this.gen + 1;
    const { log: next } = await UpdateLog.open(join(dir, logName(gen)));
    await syncDir(dir);
    // Swap and encode with no await in between: every update before the swap is in the snapshot, every one after
    // goes to the new log.
    this.retiring = this.log;
    this.log = next;
    this.gen = gen;
    const state = Y.encodeStateAsUpdate(this.doc);
    await writeSnapshot(dir, gen, state);
    const retired = this.retiring;
    this.retiring = undefined;
    await retired.close();
    for (const name of await readdir(dir)) {
      const old = LOG_FILE.exec(name)?.[1];
      if (old !== undefined && Number(old) < gen) await rm(join(dir, name), { force: true });
    }
  }
}

function logName(gen: number): string {
  return `updates-${gen}.log`;
}

async function readSnapshot(path: string): Promise<{ gen: number; update: Uint8Array } | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const header = MAGIC.length + 8;
  if (data.length < header || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new CorruptSnapshotError(`${path} is not an opshub snapshot`);
  const gen = data.readUInt32LE(MAGIC.length);
  const update = data.subarray(header);
  if (crc32(update) !== data.readUInt32LE(MAGIC.length + 4)) throw new CorruptSnapshotError(`${path} fails its checksum`);
  return { gen, update };
}

async function writeSnapshot(dir: string, gen: number, update: Uint8Array): Promise<void> {
  const header = Buffer.alloc(MAGIC.length + 8);
  MAGIC.copy(header);
  header.writeUInt32LE(gen, MAGIC.length);
  header.writeUInt32LE(crc32(update), MAGIC.length + 4);
  const tmp = join(dir, `${SNAPSHOT_FILE}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    const data = Buffer.concat([header, update]);
    for (let offset = 0; offset < data.length; ) offset += (await handle.write(data, offset, data.length - offset)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, SNAPSHOT_FILE));
  await syncDir(dir);
}

/** Makes created, renamed and removed names in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
