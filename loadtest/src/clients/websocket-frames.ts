/**
 * RFC 6455 framing for a WebSocket client, with no transport: {@link encodeClientFrame} builds the masked frames a
 * client must send (§5.3), {@link FrameReader} parses what a server sends, incrementally, across TCP reads of any
 * size (§5.2): 7-, 16- and 64-bit lengths, fragmented messages (§5.4) with control frames between fragments (§5.5).
 *
 * The reader hands whole unfragmented messages over *in place* (a buffer and a byte range), so a read carrying many
 * frames allocates nothing; only a frame cut by a read boundary, or a fragmented message, is copied.
 */
import { randomFillSync } from 'node:crypto';

export const Opcode = Object.freeze({ continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa });

/** Close codes this client sends when the server breaks the protocol (RFC 6455 §7.4.1). */
export const CloseCode = Object.freeze({ normal: 1000, protocolError: 1002, noStatus: 1005, abnormal: 1006, tooBig: 1009 });

/** What a {@link FrameReader} reports. Every call is synchronous, inside {@link FrameReader.push}. */
export interface FrameSink {
  /** A whole message: bytes [start, end) of `data`. Valid only during the call: the buffer is reused. */
  message(data: Buffer, start: number, end: number, binary: boolean): void;
  /** `payload` is a copy, ≤ 125 bytes */
  ping(payload: Buffer): void;
  pong(payload: Buffer): void;
  /** the server's Close frame; 1005 when it carried no code. Nothing after it is read. */
  close(code: number, reason: string): void;
  /** the server broke the protocol: the connection must be failed with `code` (§7.1.7). Nothing more is read. */
  fail(code: number, reason: string): void;
}

const EMPTY = Buffer.alloc(0);
const TWO_32 = 2 ** 32;

/**
 * An incremental parser of server-to-client frames. Feed it every byte the socket reads, in order, with
 * {@link push}; it calls its sink for each message and control frame as soon as the frame is complete.
 * @example
 * const reader = new FrameReader(sink);
 * socket.on('data', (chunk) => reader.push(chunk, 0, chunk.length));
 */
export class FrameReader {
  /** the bytes of a frame cut by a read boundary, waiting for the rest */
  #pending = EMPTY;
  #pendingLength = 0;
  /** a fragmented message being assembled: its opcode (-1: none), fragments and size */
  #fragmentOpcode = -1;
  #fragments: Buffer[] = [];
  #fragmentBytes = 0;
  #stopped = false;

  constructor(
    private readonly sink: FrameSink,
    /** larger messages fail the connection with 1009 instead of being buffered */
    private readonly maxMessageBytes = 64 * 1024 * 1024,
  ) {}

  /** Stops reading: after a Close frame, a protocol error, or when the owner closes the connection. */
  stop(): void {
    this.#stopped = true;
    this.#pending = EMPTY;
    this.#pendingLength = 0;
    this.#fragments = [];
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Bytes [start, end) of `chunk` are the next bytes from the server. `chunk` may be reused after the call. */
  push(chunk: Buffer, start: number, end: number): void {
    if (this.#stopped || start >= end) return;
    if (this.#pendingLength === 0) {
      // The common case: frames parsed straight out of the read buffer.
      const used = this.#parse(chunk, start, end);
      if (used < end && !this.#stopped) this.#keep(chunk, used, end);
      return;
    }
    this.#keep(chunk, start, end);
    const pending = this.#pending;
    const used = this.#parse(pending, 0, this.#pendingLength);
    if (this.#stopped) return;
    pending.copy(pending, 0, used, this.#pendingLength);
    this.#pendingLength -= used;
    // A large frame's buffer is not kept once it is done with.
    if (this.#pendingLength === 0 && pending.length > 64 * 1024) this.#pending = EMPTY;
  }

  /** Appends bytes to the pending frame, growing its buffer by doubling. */
  #keep(chunk: Buffer, start: number, end: number): void {
    const needed = this.#pendingLength + (end - start);
    if (needed > this.#pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.#pending.length, 1024));
      this.#pending.copy(grown, 0, 0, this.#pendingLength);
      this.#pending = grown;
    }
    chunk.copy(this.#pending, this.#pendingLength, start, end);
    this.#pendingLength = needed;
  }

  /** Parses every whole frame in bytes [i, end) of `buf`; returns where the first incomplete frame starts. */
  #parse(buf: Buffer, i: number, end: number): number {
    while (end - i >= 2 && !this.#stopped) {
      const b0 = buf[i]!;
      const b1 = buf[i + 1]!;
      if ((b0 & 0x70) !== 0) return this.#failAt(end, CloseCode.protocolError, 'RSV bits set, but no extension was negotiated');
      if ((b1 & 0x80) !== 0) return this.#failAt(end, CloseCode.protocolError, 'a server frame must not be masked');
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (end - i < 4) break;
        length = (buf[i + 2]! << 8) | buf[i + 3]!;
        header = 4;
      } else if (length === 127) {
        if (end - i < 10) break;
        const high = buf.readUInt32BE(i + 2);
        // The most significant bit must be 0 (§5.2); anything ≥ 2^53 could not be a JS number anyway.
        if (high > 0x1fffff) return this.#failAt(end, CloseCode.tooBig, 'frame length beyond 2^53');
        length = high * TWO_32 + buf.readUInt32BE(i + 6);
        header = 10;
      }
      if (length > this.maxMessageBytes) return this.#failAt(end, CloseCode.tooBig, `frame of ${length} bytes exceeds ${this.maxMessageBytes}`);
      if (end - i - header < length) break;
      const start = i + header;
      i = start + length;
      this.#frame((b0 & 0x80) !== 0, b0 & 0x0f, buf, start, i);
    }
    return i;
  }

  #frame(fin: boolean, opcode: number, buf: Buffer, start: number, end: number): void {
    if (opcode >= 0x8) return this.#control(fin, opcode, buf, start, end);
    if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#fragmentOpcode !== -1) return this.#fail(CloseCode.protocolError, 'a new message began inside a fragmented one');
      if (fin) return this.sink.message(buf, start, end, opcode === Opcode.binary);
      this.#fragmentOpcode = opcode;
      return this.#fragment(buf, start, end);
    }
    if (opcode !== Opcode.continuation) return this.#fail(CloseCode.protocolError, `reserved opcode ${opcode}`);
    if (this.#fragmentOpcode === -1) return this.#fail(CloseCode.protocolError, 'a continuation frame without a message to continue');
    this.#fragment(buf, start, end);
    if (!fin || this.#stopped) return;
    const message = this.#fragments.length === 1 ? this.#fragments[0]! : Buffer.concat(this.#fragments, this.#fragmentBytes);
    const binary = this.#fragmentOpcode === Opcode.binary;
    this.#fragmentOpcode = -1;
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.sink.message(message, 0, message.length, binary);
  }

  #fragment(buf: Buffer, start: number, end: number): void {
    this.#fragmentBytes += end - start;
    if (this.#fragmentBytes > this.maxMessageBytes) return this.#fail(CloseCode.tooBig, `message exceeds ${this.maxMessageBytes} bytes`);
    this.#fragments.push(Buffer.from(buf.subarray(start, end)));
  }

  #control(fin: boolean, opcode: number, buf: Buffer, start: number, end: number): void {
    // §5.5: control frames are never fragmented and carry at most 125 bytes.
    if (!fin) return this.#fail(CloseCode.protocolError, 'a fragmented control frame');
    if (end - start > 125) return this.#fail(CloseCode.protocolError, 'a control frame longer than 125 bytes');
    if (opcode === Opcode.ping) return this.sink.ping(Buffer.from(buf.subarray(start, end)));
    if (opcode === Opcode.pong) return this.sink.pong(Buffer.from(buf.subarray(start, end)));
    if (opcode !== Opcode.close) return this.#fail(CloseCode.protocolError, `reserved control opcode ${opcode}`);
    if (end - start === 1) return this.#fail(CloseCode.protocolError, 'a close frame with a 1-byte body');
    const code = end - start === 0 ? CloseCode.noStatus : buf.readUInt16BE(start);
    if (end - start >= 2 && !isValidCloseCode(code)) return this.#fail(CloseCode.protocolError, `invalid close code ${code}`);
    this.stop();
    this.sink.close(code, buf.toString('utf8', Math.min(end, start + 2), end));
  }

  /** fails the connection; `end` is what {@link #parse} reports as consumed, so nothing more is looked at */
  #failAt(end: number, code: number, reason: string): number {
    this.#fail(code, reason);
    return end;
  }

  #fail(code: number, reason: string): void {
    this.stop();
    this.sink.fail(code, reason);
  }
}

/**
 * Codes a Close frame may carry (§7.4.1 and the IANA registry): 1005, 1006 and 1015 are only for reporting, never
 * sent; 3000–4999 belong to libraries and applications (opshub's 4401, 4403, 4408, 4429).
 * @example isValidCloseCode(4401) // true
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/**
 * A client frame: FIN set unless `fin` is false, masked with a fresh random key as §5.3 requires of every frame a
 * client sends (a server closes the connection on an unmasked one).
 * @example socket.write(encodeClientFrame(Opcode.text, Buffer.from('{"op":"ping"}')));
 */
export function encodeClientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + 4 + length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / TWO_32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  randomFillSync(frame, header, 4);
  const body = header + 4;
  for (let i = 0; i < length; i++) frame[body + i] = payload[i]! ^ frame[header + (i & 3)]!;
  return frame;
}

/**
 * The body of a Close frame: the code, then the reason in UTF-8 (cut to fit the 125-byte limit of control frames).
 * @example closeBody(1000, 'bye')
 */
export function closeBody(code: number, reason = ''): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const body = Buffer.allocUnsafe(2 + Math.min(123, text.length));
  body.writeUInt16BE(code, 0);
  text.copy(body, 2, 0, body.length - 2);
  return body;
}
