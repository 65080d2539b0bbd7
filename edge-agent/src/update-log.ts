/**
 * An append-only file of Yjs updates, one framed record each, made durable with fdatasync before an append resolves.
 *
 * Record: `u32 LE length · u32 LE crc32(payload) · payload`. A crash can only tear the last record (appends go to the
 * end, in order), so reading stops at the first record that is short or fails its checksum, and the file is cut
 * back to the last whole record before anything new is appended after it.
 *
 * Appends are group-committed: while one write+fdatasync is in flight, later appends queue and share the next one,
 * so a burst of scans costs one disk flush, not one each.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

const HEADER_BYTES = 8;

/** The log could not be written; acknowledged data is safe, the failed append is not. */
export class LogWriteError extends Error {
  override readonly name = 'LogWriteError';
}

export interface LogContents {
  records: Uint8Array[];
  /** Bytes after the last whole record (a torn write), cut off on open. */
  tornBytes: number;
}

interface Pending {
  frame: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class UpdateLog {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Set after a failed write: a half-written record may sit at the end, so nothing may follow it. */
  private broken: LogWriteError | undefined;
  private lastAppend: Promise<void> = Promise.resolve();
  /** Bytes in the file, including queued appends. */
  bytes: number;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    size: number,
  ) {
    this.bytes = size;
  }

  /**
   * Opens (or creates) a log, returning its whole records and cutting off a torn tail.
   * @example const { log, contents } = await UpdateLog.open('data/updates-3.log');
   */
  static async open(path: string): Promise<{ log: UpdateLog; contents: LogContents }> {
    const handle = await open(path, 'a+');
    try {
      const data = await handle.readFile();
      const contents = parseRecords(data);
      const goodBytes = data.length - contents.tornBytes;
      if (contents.tornBytes > 0) {
        await handle.truncate(goodBytes);
        await handle.datasync();
      }
      return { log: new UpdateLog(handle, path, goodBytes), contents };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Queues one record; resolves once it (and everything queued before it) is on disk.
   * @example await log.append(update); // now it survives kill -9 and power loss
   */
  append(payload: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new LogWriteError(`log ${this.path} is closed`));
    if (this.broken) return Promise.reject(this.broken);
    const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
    frame.writeUInt32LE(payload.length, 0);
    frame.writeUInt32LE(crc32(payload), 4);
    frame.set(payload, HEADER_BYTES);
    this.bytes += frame.length;
    const promise = new Promise<void>((resolve, reject) => this.queue.push({ frame, resolve, reject }));
    // Callers that never await one append (relayed updates) must not crash the process with an unhandled rejection.
    promise.catch(() => {});
    this.lastAppend = promise;
    this.flushing ??= this.flush();
    return promise;
  }

  /** Resolves once everything appended so far is on disk (rejects if the last append failed). */
  durable(): Promise<void> {
    return this.lastAppend;
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        const data = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((p) => p.frame));
        for (let offset = 0; offset < data.length; ) {
          const { bytesWritten } = await this.handle.write(data, offset, data.length - offset);
          offset += bytesWritten;
        }
        await this.handle.datasync();
        for (const pending of batch) pending.resolve();
      } catch (error) {
        const failure = new LogWriteError(`cannot append to ${this.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        this.broken = failure;
        for (const pending of [...batch, ...this.queue.splice(0)]) pending.reject(failure);
      }
    }
    this.flushing = undefined;
  }
}

/** Splits a log file into records; exported for tests. */
export function parseRecords(data: Uint8Array): LogContents {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (buffer.length - offset >= HEADER_BYTES) {
    const length = buffer.readUInt32LE(offset);
    const checksum = buffer.readUInt32LE(offset + 4);
    const end = offset + HEADER_BYTES + length;
    if (end > buffer.length) break;
    const payload = buffer.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== checksum) break;
    // Copy: the payload must not pin the whole file buffer in memory.
    records.push(new Uint8Array(payload));
    offset = end;
  }
  return { records, tornBytes: buffer.length - offset };
}
