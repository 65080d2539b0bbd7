/**
 * A lean WebSocket client (RFC 6455) on a plain `net.Socket`, for the bench's subscribers: the real HTTP/1.1 Upgrade
 * handshake (`Sec-WebSocket-Key`, `Sec-WebSocket-Accept` checked), masked client frames, server frames parsed
 * incrementally by {@link FrameReader}, ping answered with pong, the closing handshake both ways.
 *
 * Why not `ws`: in fan-out every subscriber reads one small frame per message, and `ws` spends about 10 µs of CPU on
 * each (a Buffer per read, the Readable stream, its Receiver as a Writable stream, events); with 5,000 subscribers
 * on one client core that alone spreads one message over 50 ms. Here a read goes from libuv straight into one
 * buffer shared by every socket of the process (`onread`), and frames are handed over in place: no stream, no
 * event emitter and no allocation per delivered message.
 *
 * Left out on purpose: `wss://`, extensions (permessage-deflate is not offered), subprotocols, and UTF-8 validation
 * of text messages (the bench's `ws` clients skipped it too: `skipUTF8Validation`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { closeBody, CloseCode, encodeClientFrame, FrameReader, Opcode, type FrameSink } from './websocket-frames.ts';

/** RFC 6455 §1.3: the server proves it read the key by hashing it with this GUID. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * One read buffer for every socket of the process. libuv reads a socket, the callback parses the bytes at once
 * (a frame cut by the read boundary is copied out by its FrameReader), and only then is the next socket read, so
 * sharing it is safe and saves a Buffer per read.
 */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

export interface LeanWebSocketHandlers {
  /** the handshake succeeded: messages may be sent */
  open(): void;
  /** a whole message: bytes [start, end) of `data`, valid only during the call (the buffer is reused) */
  message(data: Buffer, start: number, end: number, binary: boolean): void;
  /** the handshake failed, the server broke the protocol, or the socket failed; `close` follows */
  error(error: Error): void;
  /** the TCP connection is gone: `code` from the server's Close frame, the one this client failed with, or 1006 */
  close(code: number, reason: string): void;
  pong?(payload: Buffer): void;
}

export interface LeanWebSocketOptions {
  /** source address (the bench spreads connections over 127.0.0.2–9) */
  readonly localAddress?: string;
  /** the handshake must finish within this; default 30 s */
  readonly handshakeTimeoutMs?: number;
  /** after the closing handshake, how long to wait for the server to end TCP before cutting it; default 2 s */
  readonly closeTimeoutMs?: number;
  /** larger messages fail the connection with 1009; default 64 MiB */
  readonly maxMessageBytes?: number;
  /** extra request headers (`Authorization`, `Origin`…) */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The server did not upgrade the connection, or answered in a way RFC 6455 §4.1 says to reject. */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    /** the HTTP status, when the server sent one */
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The server broke the framing rules; the connection was failed with `code`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type State = 'connecting' | 'open' | 'closing' | 'closed';

/**
 * @example
 * const ws = new LeanWebSocket('ws://127.0.0.1:8080/ws?token=…', {
 *   open: () => ws.send('{"op":"sub","topic":"event/e1/checkins"}'),
 *   message: (data, start, end) => console.log(data.toString('utf8', start, end)),
 *   error: (err) => console.error(err),
 *   close: (code) => console.log('closed', code),
 * });
 */
export class LeanWebSocket {
  #state: State = 'connecting';
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #key = randomBytes(16).toString('base64');
  /** the response head read so far, while connecting */
  #head: Buffer | undefined;
  #closeSent = false;
  #closeCode: number = CloseCode.abnormal;
  #closeReason = '';
  #timer: NodeJS.Timeout | undefined;
  #errored = false;

  constructor(
    url: string,
    private readonly handlers: LeanWebSocketHandlers,
    private readonly options: LeanWebSocketOptions = {},
  ) {
    const target = new URL(url);
    if (target.protocol !== 'ws:') throw new Error(`LeanWebSocket speaks ws:// only, not ${target.protocol}`);
    this.#reader = new FrameReader(this.#sink(), options.maxMessageBytes);
    this.#socket = connect({
      host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(target.port || 80),
      ...(options.localAddress && { localAddress: options.localAddress }),
      onread: { buffer: readBuffer, callback: (nread) => this.#read(nread) },
    });
    this.#socket.setNoDelay(true);
    this.#socket.once('connect', () => this.#socket.write(this.#request(target)));
    this.#socket.on('error', (error) => this.#report(error));
    this.#socket.once('close', () => this.#closed());
    const ms = options.handshakeTimeoutMs ?? 30_000;
    this.#timer = setTimeout(() => this.#abort(new HandshakeError(undefined, `no WebSocket handshake within ${ms} ms`)), ms);
  }

  get state(): State {
    return this.#state;
  }

  /** Sends a text message; false (nothing sent) unless the connection is open. */
  send(text: string): boolean {
    return this.#send(Opcode.text, Buffer.from(text, 'utf8'));
  }

  /** Sends a binary message; false (nothing sent) unless the connection is open. */
  sendBinary(data: Buffer): boolean {
    return this.#send(Opcode.binary, data);
  }

  /** A ping; the server's pong arrives at `handlers.pong`. Control frames carry at most 125 bytes (§5.5). */
  ping(payload: Buffer = Buffer.alloc(0)): boolean {
    if (payload.length > 125) throw new RangeError(`a ping carries at most 125 bytes, not ${payload.length}`);
    return this.#send(Opcode.ping, payload);
  }

  /**
   * Starts the closing handshake (§7.1.2): sends Close, then waits for the server's Close and for it to end TCP,
   * cutting the connection after `closeTimeoutMs` if they do not come. Before the handshake finished: cuts it.
   */
  close(code: number = CloseCode.normal, reason = ''): void {
    if (this.#state === 'connecting') return this.#abort(new HandshakeError(undefined, 'closed before the handshake finished'));
    if (this.#state !== 'open') return;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#sendClose(code, reason);
  }

  /** Cuts the TCP connection without a closing handshake. */
  terminate(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    this.#reader.stop();
    this.#socket.destroy();
  }

  /** Hot path: every read of the socket, `nread` bytes at the start of the shared buffer. */
  #read(nread: number): boolean {
    if (this.#state === 'connecting') this.#handshake(nread);
    else this.#reader.push(readBuffer, 0, nread);
    return true;
  }

  /** What the reader finds in the server's frames. */
  #sink(): FrameSink {
    return {
      message: (data, start, end, binary) => {
        if (this.#state === 'open' || this.#state === 'closing') this.handlers.message(data, start, end, binary);
      },
      ping: (payload) => {
        this.#send(Opcode.pong, payload);
      },
      pong: (payload) => this.handlers.pong?.(payload),
      close: (code, reason) => {
        // §7.1.5: the code the server sent is the connection's close code, whoever started the handshake.
        this.#closeCode = code;
        this.#closeReason = reason;
        if (!this.#closeSent) this.#sendClose(code === CloseCode.noStatus ? undefined : code, '');
        // §7.1.1: the server ends TCP first; Node ends this side when its FIN arrives (allowHalfOpen is off).
      },
      fail: (code, reason) => {
        this.#closeCode = code;
        this.#closeReason = reason;
        this.#errored = true;
        this.handlers.error(new ProtocolError(code, reason));
        // §7.1.7: send Close with the reason, then close TCP without waiting for the server's answer.
        if (!this.#closeSent) this.#sendClose(code, reason);
        this.#socket.end();
      },
    };
  }

  #send(opcode: number, payload: Buffer): boolean {
    if (this.#state !== 'open') return false;
    this.#socket.write(encodeClientFrame(opcode, payload));
    return true;
  }

  /** Sends Close (no body when `code` is undefined) and arms the timer that cuts a server that never answers. */
  #sendClose(code: number | undefined, reason: string): void {
    if (this.#state === 'open') this.#socket.write(encodeClientFrame(Opcode.close, code === undefined ? Buffer.alloc(0) : closeBody(code, reason)));
    this.#closeSent = true;
    this.#state = 'closing';
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#socket.destroy(), this.options.closeTimeoutMs ?? 2000);
  }

  #request(target: URL): string {
    const lines = [
      `GET ${target.pathname}${target.search} HTTP/1.1`,
      `Host: ${target.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${this.#key}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(this.options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    ];
    return `${lines.join('\r\n')}\r\n\r\n`;
  }

  /** Collects the response head; once whole, checks it (§4.1) and hands what follows it to the frame reader. */
  #handshake(nread: number): void {
    const head = this.#head ? Buffer.concat([this.#head, readBuffer.subarray(0, nread)]) : Buffer.from(readBuffer.subarray(0, nread));
    const end = head.indexOf(HEADER_END);
    if (end < 0) {
      if (head.length > MAX_HEADER_BYTES) return this.#abort(new HandshakeError(undefined, `response head larger than ${MAX_HEADER_BYTES} bytes`));
      this.#head = head;
      return;
    }
    this.#head = undefined;
    const refusal = this.#check(head.toString('latin1', 0, end), head.toString('utf8', end + HEADER_END.length));
    if (refusal) return this.#abort(refusal);
    clearTimeout(this.#timer);
    this.#state = 'open';
    this.handlers.open();
    // Frames the server sent right behind its 101 (none from opshub, but nothing forbids them).
    if (end + HEADER_END.length < head.length) this.#reader.push(head, end + HEADER_END.length, head.length);
  }

  /** Why the response is not a valid upgrade of this request, or undefined when it is. */
  #check(head: string, rest: string): HandshakeError | undefined {
    const [statusLine = '', ...lines] = head.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!status) return new HandshakeError(undefined, `not an HTTP response: ${statusLine.slice(0, 80)}`);
    const code = Number(status[1]);
    if (code !== 101) return new HandshakeError(code, `server answered ${statusLine.slice(9)}${rest ? `: ${rest.slice(0, 200)}` : ''}`);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (headers.get('upgrade')?.toLowerCase() !== 'websocket') return new HandshakeError(code, 'the 101 response has no "Upgrade: websocket"');
    if (!(headers.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) return new HandshakeError(code, 'the 101 response has no "Connection: Upgrade"');
    const expected = createHash('sha1').update(this.#key + GUID).digest('base64');
    if (headers.get('sec-websocket-accept') !== expected) return new HandshakeError(code, 'Sec-WebSocket-Accept does not match the key sent');
    // Nothing was offered, so nothing may be chosen (§4.1, points 5 and 6).
    if (headers.has('sec-websocket-extensions')) return new HandshakeError(code, `the server chose an extension that was not offered: ${headers.get('sec-websocket-extensions')}`);
    if (headers.has('sec-websocket-protocol')) return new HandshakeError(code, `the server chose a subprotocol that was not offered: ${headers.get('sec-websocket-protocol')}`);
    return undefined;
  }

  /** Fails the opening handshake: reports why, then cuts the connection. */
  #abort(error: Error): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'closing';
    this.#errored = true;
    this.handlers.error(error);
    this.#socket.destroy();
  }

  /** A socket error: fails the handshake, or is reported once on an open connection; `close` follows. */
  #report(error: Error): void {
    if (this.#state === 'connecting') return this.#abort(error);
    if (this.#errored || this.#state === 'closed') return;
    this.#errored = true;
    this.handlers.error(error);
  }

  #closed(): void {
    clearTimeout(this.#timer);
    this.#reader.stop();
    if (this.#state === 'connecting') this.handlers.error(new HandshakeError(undefined, 'the server closed the connection during the handshake'));
    this.#state = 'closed';
    this.handlers.close(this.#closeCode, this.#closeReason);
  }
}
