import type { BusMessage, Retention } from '../bus.ts';

/**
 * One topic's retained messages, oldest first, trimmed per {@link Retention} on every append (the same rule the
 * Redis script applies). Seqs in the log are contiguous, so a seq maps to a slot without searching.
 *
 * Compact on purpose: each entry is the finished frame (one flat string, shared with what uWS sent) plus its ts and
 * byte size in typed arrays, about 20 bytes beside the frame. A `BusMessage` object per entry cost another 50 bytes
 * or so, and is built again only for the rare replay from here.
 */
export class RetainedLog {
  // A ring whose capacity doubles as needed: appends and trims are O(1) without moving entries.
  #frames: (string | undefined)[] = new Array(16);
  #times = new Float64Array(16);
  #sizes = new Uint32Array(16);
  #head = 0;
  #length = 0;
  #bytes = 0;

  constructor(private readonly retention: Retention) {}

  get length(): number {
    return this.#length;
  }

  /** UTF-8 bytes of the frames retained. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends the frame with the next seq and drops what retention no longer covers; returns the bytes it dropped
   * (so a bus-wide budget can keep its total).
   * @example log.append(frame, now, Buffer.byteLength(frame));
   */
  append(frame: string, ts: number, size: number): number {
    if (this.#length === this.#frames.length) this.#resize(this.#frames.length * 2);
    const slot = (this.#head + this.#length) & (this.#frames.length - 1);
    this.#frames[slot] = frame;
    this.#times[slot] = ts;
    this.#sizes[slot] = size;
    this.#length++;
    this.#bytes += size;
    const { messages, ms, maxMessages, maxBytes } = this.retention;
    let dropped = 0;
    while (this.#length > 0) {
      const over =
        this.#length > maxMessages || this.#bytes > maxBytes || (this.#length > messages && ts - this.#times[this.#head]! >= ms);
      if (!over) break;
      dropped += this.dropOldest();
    }
    // A burst grew the ring; once it is mostly empty again, give the slots back.
    if (this.#frames.length > 64 && this.#length * 4 < this.#frames.length) this.#resize(this.#frames.length / 2);
    return dropped;
  }

  /** Drops the oldest entry (the bus-wide byte budget calls this); returns its size, 0 when empty. */
  dropOldest(): number {
    if (this.#length === 0) return 0;
    const size = this.#sizes[this.#head]!;
    this.#frames[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#frames.length - 1);
    this.#length--;
    this.#bytes -= size;
    return size;
  }

  /**
   * Messages with `seq > since` when `head` is the newest seq, or undefined when the oldest of them was trimmed.
   * @example log.after('event/x/alerts', 3, 5); // [message 4, message 5]
   */
  after(topic: string, since: number, head: number): BusMessage[] | undefined {
    if (since >= head) return [];
    const first = head - this.#length + 1;
    if (since + 1 < first) return undefined;
    const mask = this.#frames.length - 1;
    const out: BusMessage[] = [];
    for (let seq = since + 1; seq <= head; seq++) {
      const slot = (this.#head + (seq - first)) & mask;
      out.push({ topic, seq, ts: this.#times[slot]!, frame: this.#frames[slot]! });
    }
    return out;
  }

  #resize(capacity: number): void {
    const frames: (string | undefined)[] = new Array(capacity);
    const times = new Float64Array(capacity);
    const sizes = new Uint32Array(capacity);
    const mask = this.#frames.length - 1;
    for (let i = 0; i < this.#length; i++) {
      const slot = (this.#head + i) & mask;
      frames[i] = this.#frames[slot];
      times[i] = this.#times[slot]!;
      sizes[i] = this.#sizes[slot]!;
    }
    this.#frames = frames;
    this.#times = times;
    this.#sizes = sizes;
    this.#head = 0;
  }
}
