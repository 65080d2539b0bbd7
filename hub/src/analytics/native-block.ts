import type { EventRow } from './event-row.ts';

/**
 * Event rows as one block of ClickHouse's `Native` format: column after column, each value in its binary form, so
 * the engine copies columns instead of parsing text (no escaping, no number parsing, no per-row JSON). The block
 * carries its own column names and types; the engine casts `String` into the table's `LowCardinality(String)`.
 *
 * Layout (what `FORMAT Native` reads without a client revision, so without per-column serialization flags):
 * VarUInt columns, VarUInt rows, then per column its name and type (each a VarUInt length and UTF-8 bytes) and its
 * values: `DateTime64(3)` and `UInt64` as 8 little-endian bytes, `String` as a VarUInt byte length then the bytes.
 *
 * The encoding is deterministic (same rows, same bytes), which a retry with the same deduplication token relies on.
 *
 * @example
 * const block = encodeEventBlock(rows);               // INSERT INTO events (ts, …, properties) FORMAT Native
 * const withIds = encodeEventBlock(rows, oids);       // INSERT INTO events (oid, ts, …, properties) FORMAT Native
 */
export function encodeEventBlock(rows: readonly EventRow[], oids?: readonly (bigint | number)[]): Buffer {
  if (oids && oids.length !== rows.length) throw new RangeError(`${oids.length} ids for ${rows.length} rows`);
  const w = new BlockWriter(rows.length * 160 + 1024);
  w.varUInt(oids ? 10 : 9);
  w.varUInt(rows.length);
  if (oids) {
    w.header('oid', 'UInt64');
    for (const id of oids) w.uint64(id);
  }
  w.header('ts', "DateTime64(3, 'UTC')");
  for (const r of rows) w.int64(r.ts);
  for (const column of stringColumns) {
    w.header(column, 'String');
    for (const r of rows) w.string(r[column]);
  }
  return w.finish();
}

/** The string columns of `events`, in the order {@link encodeEventBlock} writes them (after `oid` and `ts`). */
const stringColumns = ['event', 'kind', 'actor', 'zone', 'session', 'exhibitor', 'ticket', 'properties'] as const;

const two32 = 2 ** 32;

/** An append-only byte buffer that grows by doubling. */
class BlockWriter {
  #buf: Buffer;
  #at = 0;

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  header(name: string, type: string): void {
    this.string(name);
    this.string(type);
  }

  varUInt(value: number): void {
    this.#room(10);
    let v = value;
    while (v >= 0x80) {
      this.#buf[this.#at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#at++] = v;
  }

  /** A signed 64-bit integer from a safe integer (epoch milliseconds), without going through BigInt. */
  int64(value: number): void {
    this.#room(8);
    const lowBits = ((value % two32) + two32) % two32;
    const high = Math.floor((value - lowBits) / two32);
    this.#buf.writeUInt32LE(lowBits, this.#at);
    this.#buf.writeInt32LE(high, this.#at + 4);
    this.#at += 8;
  }

  /** An unsigned 64-bit integer: a bigint (any id the Store makes) or a non-negative safe integer. */
  uint64(value: bigint | number): void {
    this.#room(8);
    if (typeof value === 'bigint') {
      if (value < 0n || value >= 1n << 64n) throw new RangeError(`${value} is not a UInt64`);
      this.#buf.writeBigUInt64LE(value, this.#at);
    } else {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${value} is not a UInt64`);
      this.#buf.writeUInt32LE(value % two32, this.#at);
      this.#buf.writeUInt32LE(Math.floor(value / two32), this.#at + 4);
    }
    this.#at += 8;
  }

  /**
   * A VarUInt byte length then the UTF-8 bytes. Ids, kinds and most properties are ASCII: those are copied char by
   * char behind a one-byte length, which costs less than a call into the UTF-8 encoder per value; anything else (or
   * 128 chars and longer) takes the encoder.
   */
  string(value: string): void {
    const n = value.length;
    if (n < 0x80) {
      this.#room(n + 1);
      const buf = this.#buf;
      let at = this.#at + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === n) {
        buf[this.#at] = n;
        this.#at = at;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varUInt(bytes);
    this.#room(bytes);
    this.#at += this.#buf.write(value, this.#at, bytes, 'utf8');
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }

  #room(bytes: number): void {
    if (this.#at + bytes <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#at + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }
}
