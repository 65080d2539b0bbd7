import type { AnalyticsEvent } from './analytics.ts';
import type { BatchAccumulator } from './insert-batcher.ts';
import { propertiesJson, text, toMillis, type EventRow } from './event-row.ts';

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
  const builder = new EventBlockBuilder({ withIds: oids !== undefined, rows: rows.length });
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    builder.addRow(r.ts, r.event, r.kind, r.actor, r.zone, r.session, r.exhibitor, r.ticket, r.properties, oids?.[i]);
  }
  return Buffer.concat(builder.take().parts);
}

/**
 * A block made by {@link EventBlockBuilder}: its bytes in a few parts (a header, then each column), to be written one
 * after the other, never joined into one buffer (a copy of megabytes, on fresh memory, per block). The parts are the
 * builder's own column buffers, lent until the block is given back with {@link EventBlockBuilder.release}.
 */
export class EventBlock {
  constructor(readonly parts: readonly Buffer[]) {}

  get byteLength(): number {
    let n = 0;
    for (const part of this.parts) n += part.length;
    return n;
  }
}

/**
 * Builds a `Native` block (see {@link encodeEventBlock}) one event at a time, straight into its columns: `record()`
 * writes each event's values into per-column buffers as it arrives, so no row object is kept per queued event (tens
 * of thousands of them outlived the young generation and made most of the ingest's garbage-collection work) and
 * nothing is encoded at insert time but the columns' concatenation. The column buffers are reused from block to block.
 *
 * @example
 * const block = new EventBlockBuilder();
 * block.add({ ts: Date.now(), event: 'e1', kind: 'poll.vote' });
 * const body = block.take(); // one Native block of every event added since the last take(); the builder is empty again
 */
export class EventBlockBuilder implements BatchAccumulator<AnalyticsEvent, EventBlock> {
  readonly #withIds: boolean;
  readonly #rowsHint: number;
  #columns: ColumnSet;
  /** column sets given back by stored blocks, reused so that steady ingest touches no fresh memory */
  #spare: ColumnSet[] = [];
  /** the column buffers each block still out there views */
  readonly #lent = new WeakMap<EventBlock, ColumnSet>();
  #rows = 0;

  constructor(options: { withIds?: boolean; rows?: number } = {}) {
    this.#rowsHint = Math.max(options.rows ?? 1_024, 16);
    this.#withIds = options.withIds ?? false;
    this.#columns = this.#newColumns();
  }

  /** Rows added since the last {@link take}. */
  get count(): number {
    return this.#rows;
  }

  /**
   * Adds one recorded event, made storable as `toEventRow` would (see `event-row.ts`). Either the whole event is
   * written or, when reading it throws (a throwing getter), nothing: every value is read before any column is written,
   * so the columns never disagree on their length.
   */
  add(event: AnalyticsEvent): void {
    const e: Partial<AnalyticsEvent> = event ?? {};
    const ts = toMillis(e.ts);
    const name = text(e.event);
    const kind = text(e.kind);
    const actor = text(e.actor);
    const zone = text(e.zone);
    const session = text(e.session);
    const exhibitor = text(e.exhibitor);
    const ticket = text(e.ticket);
    const properties = propertiesJson(e.properties);
    this.addRow(ts, name, kind, actor, zone, session, exhibitor, ticket, properties, undefined);
  }

  /** Adds one row of values already made storable (with its id when the block carries ids). */
  addRow(
    ts: number,
    event: string,
    kind: string,
    actor: string,
    zone: string,
    session: string,
    exhibitor: string,
    ticket: string,
    properties: string,
    oid: bigint | number | undefined,
  ): void {
    const c = this.#columns;
    // Checked before anything is written, for the same reason as in add().
    if (c.ids) {
      if (oid === undefined) throw new RangeError('this block carries ids: every row needs one');
      checkUInt64(oid);
      c.ids.uint64(oid);
    }
    c.ts.int64(ts);
    const s = c.strings;
    s[0]!.string(event);
    s[1]!.string(kind);
    s[2]!.string(actor);
    s[3]!.string(zone);
    s[4]!.string(session);
    s[5]!.string(exhibitor);
    s[6]!.string(ticket);
    s[7]!.string(properties);
    this.#rows++;
  }

  /**
   * The block of every row added since the last take; the builder starts over empty, on other column buffers. The
   * block's parts stay valid (a retry sends the very same bytes) until it is given back with {@link release}.
   */
  take(): EventBlock {
    const c = this.#columns;
    const head = new ColumnWriter(16);
    head.varUInt(this.#withIds ? 10 : 9);
    head.varUInt(this.#rows);
    const parts: Buffer[] = [head.bytes()];
    if (c.ids) parts.push(columnHeaders.oid, c.ids.bytes());
    parts.push(columnHeaders.ts, c.ts.bytes());
    stringColumns.forEach((name, i) => parts.push(columnHeaders[name], c.strings[i]!.bytes()));
    this.#columns = this.#spare.pop() ?? this.#newColumns();
    this.#rows = 0;
    const block = new EventBlock(parts);
    this.#lent.set(block, c);
    return block;
  }

  /** Takes back a block once it is stored, for its column buffers to carry a later block. */
  release(block: EventBlock): void {
    const c = this.#lent.get(block);
    this.#lent.delete(block);
    if (!c || this.#spare.length >= 2) return;
    c.ids?.reset();
    c.ts.reset();
    for (const writer of c.strings) writer.reset();
    this.#spare.push(c);
  }

  #newColumns(): ColumnSet {
    const rows = this.#rowsHint;
    return {
      ids: this.#withIds ? new ColumnWriter(rows * 8) : undefined,
      ts: new ColumnWriter(rows * 8),
      // Sized for typical ids (a few to a few tens of bytes); properties are the long ones.
      strings: stringColumns.map((column) => new ColumnWriter(rows * (column === 'properties' ? 64 : 16))),
    };
  }
}

/** One block's column buffers. */
interface ColumnSet {
  readonly ids: ColumnWriter | undefined;
  readonly ts: ColumnWriter;
  readonly strings: readonly ColumnWriter[];
}

/** The string columns of `events`, in the order a block carries them (after `oid` and `ts`). */
const stringColumns = ['event', 'kind', 'actor', 'zone', 'session', 'exhibitor', 'ticket', 'properties'] as const;

const two32 = 2 ** 32;

function checkUInt64(value: bigint | number): void {
  const ok = typeof value === 'bigint' ? value >= 0n && value < 1n << 64n : Number.isSafeInteger(value) && value >= 0;
  if (!ok) throw new RangeError(`${value} is not a UInt64`);
}

/** One column's values: an append-only byte buffer that grows by doubling and is reused after {@link reset}. */
class ColumnWriter {
  #buf: Buffer;
  #at = 0;

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  /** The bytes written so far (a view: valid until the next write or reset). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }

  reset(): void {
    this.#at = 0;
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

  /** An unsigned 64-bit integer (checked by the caller): a bigint or a non-negative safe integer. */
  uint64(value: bigint | number): void {
    this.#room(8);
    if (typeof value === 'bigint') {
      this.#buf.writeBigUInt64LE(value, this.#at);
    } else {
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

  #room(bytes: number): void {
    if (this.#at + bytes <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#at + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }
}

/** Each column's name and type as a block spells them, made once. */
const columnHeaders = Object.fromEntries(
  [['oid', 'UInt64'] as const, ['ts', "DateTime64(3, 'UTC')"] as const, ...stringColumns.map((name) => [name, 'String'] as const)].map(([name, type]) => {
    const header = new ColumnWriter(64);
    header.string(name);
    header.string(type);
    return [name, Buffer.from(header.bytes())];
  }),
) as Record<'oid' | 'ts' | (typeof stringColumns)[number], Buffer>;
