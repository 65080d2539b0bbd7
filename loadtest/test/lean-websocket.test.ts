import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { loadNativeUws } from '@opshub/hub/native-uws';
import type { TemplatedApp, us_listen_socket, WebSocket as UwsSocket } from 'uWebSockets.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HandshakeError, LeanWebSocket, ProtocolError, type LeanWebSocketOptions } from '../src/clients/lean-websocket.ts';
import { CloseCode, FrameReader, Opcode, type FrameSink } from '../src/clients/websocket-frames.ts';

/**
 * The bench's lean WebSocket client against real servers: uWebSockets.js (what the hub runs on) for the protocol as
 * a production server speaks it, and Node's HTTP server with frames written byte by byte where a test must control
 * exactly what goes over the wire (reads cut anywhere, protocol violations).
 */

/** Everything one client saw, as events a test can await. */
class Seen extends EventEmitter {
  readonly messages: { text: string; binary: boolean }[] = [];
  readonly pongs: string[] = [];
  readonly errors: Error[] = [];
  opened = false;
  closed: { code: number; reason: string } | undefined;

  /** Resolves once `check` holds, re-checked on every event: no sleeping, no polling. */
  async until(check: () => boolean): Promise<void> {
    while (!check()) await once(this, 'event');
  }
}

const sockets: LeanWebSocket[] = [];

function connect(url: string, options: LeanWebSocketOptions = {}): { ws: LeanWebSocket; seen: Seen } {
  const seen = new Seen();
  const event = () => seen.emit('event');
  const ws = new LeanWebSocket(
    url,
    {
      open: () => ((seen.opened = true), event()),
      message: (data, start, end, binary) => (seen.messages.push({ text: data.toString(binary ? 'latin1' : 'utf8', start, end), binary }), event()),
      error: (error) => (seen.errors.push(error), event()),
      close: (code, reason) => ((seen.closed = { code, reason }), event()),
      pong: (payload) => (seen.pongs.push(payload.toString()), event()),
    },
    { handshakeTimeoutMs: 5000, closeTimeoutMs: 2000, ...options },
  );
  sockets.push(ws);
  return { ws, seen };
}

afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
});

describe('LeanWebSocket against uWebSockets.js', () => {
  const uws = loadNativeUws();
  let app: TemplatedApp;
  let listen: us_listen_socket;
  let url = '';
  /** the server's side of each connection, and what it heard, in order */
  const server = new EventEmitter();
  const peers: UwsSocket<{ heard: string[] }>[] = [];

  beforeAll(async () => {
    app = uws.App();
    app.ws<{ heard: string[] }>('/*', {
      maxPayloadLength: 1 << 20,
      idleTimeout: 0,
      sendPingsAutomatically: false,
      upgrade: (res, req, context) => {
        if (req.getQuery('token') !== 'right') {
          res.writeStatus('401 Unauthorized').end('{"error":"unauthorized"}');
          return;
        }
        res.upgrade({ heard: [] }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
      },
      open: (ws) => {
        peers.push(ws);
        server.emit('open', ws);
      },
      message: (ws, message, isBinary) => {
        const text = Buffer.from(message).toString(isBinary ? 'latin1' : 'utf8');
        ws.getUserData().heard.push(text);
        // An echo, so what the client sent (masked, length-encoded) is checked by reading it back.
        if (text.startsWith('echo:')) ws.send(message, isBinary);
        server.emit('message', ws, text);
      },
      pong: (ws, message) => server.emit('pong', ws, Buffer.from(message).toString()),
      close: (ws, code, message) => {
        peers.splice(peers.indexOf(ws), 1);
        server.emit('close', code, Buffer.from(message).toString());
      },
    });
    await new Promise<void>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (token) => {
        if (!token) return reject(new Error('uWS did not listen'));
        listen = token;
        url = `ws://127.0.0.1:${uws.us_socket_local_port(token)}/ws?token=right`;
        resolve();
      }),
    );
  });

  afterAll(() => {
    for (const ws of peers.splice(0)) ws.close();
    uws.us_listen_socket_close(listen);
  });

  /** Connects and returns the client with the server's side of the same connection. */
  async function pair(): Promise<{ ws: LeanWebSocket; seen: Seen; peer: UwsSocket<{ heard: string[] }> }> {
    const opened = once(server, 'open');
    const { ws, seen } = connect(url);
    const [peer] = (await opened) as [UwsSocket<{ heard: string[] }>];
    await seen.until(() => seen.opened);
    return { ws, seen, peer };
  }

  it('upgrades, sends masked frames the server accepts, and reads the echo: 7-, 16- and 64-bit lengths both ways', async () => {
    const { ws, seen } = await pair();
    const sizes = [0, 1, 125, 126, 65_535, 65_536, 200_000];
    const texts = sizes.map((size, i) => `echo:${i}:${'é→'.repeat(size).slice(0, size)}`);
    for (const text of texts) expect(ws.send(text)).toBe(true);
    ws.sendBinary(Buffer.from('echo:binary\x00\xff', 'latin1'));
    await seen.until(() => seen.messages.length === texts.length + 1);
    expect(seen.messages.slice(0, texts.length).map((m) => m.text)).toEqual(texts);
    expect(seen.messages.at(-1)).toEqual({ text: 'echo:binary\x00\xff', binary: true });
    expect(seen.errors).toEqual([]);
  });

  it('reads a burst of frames that arrive together, in order, each exactly', async () => {
    const { seen, peer } = await pair();
    const texts = Array.from({ length: 2000 }, (_, n) => `{"op":"msg","seq":${n + 1},"data":{"n":${n + 1}}}`);
    peer.cork(() => {
      for (const text of texts) peer.send(text);
    });
    await seen.until(() => seen.messages.length === texts.length);
    expect(seen.messages.map((m) => m.text)).toEqual(texts);
  });

  it('assembles a fragmented message, answering a ping sent between its fragments', async () => {
    const { seen, peer } = await pair();
    const pong = once(server, 'pong');
    peer.cork(() => {
      peer.sendFirstFragment('first,', false);
      peer.ping('between');
      peer.sendFragment('x'.repeat(70_000));
      peer.sendLastFragment(',last');
    });
    const [, payload] = await pong;
    expect(payload).toBe('between');
    await seen.until(() => seen.messages.length === 1);
    expect(seen.messages[0]).toEqual({ text: `first,${'x'.repeat(70_000)},last`, binary: false });
  });

  it('gets the pong to its own ping', async () => {
    const { ws, seen } = await pair();
    ws.ping(Buffer.from('are you there'));
    await seen.until(() => seen.pongs.length === 1);
    expect(seen.pongs).toEqual(['are you there']);
  });

  it('reports the code and reason of a close the server starts, after echoing the Close', async () => {
    const { seen, peer } = await pair();
    const closed = once(server, 'close');
    peer.end(4401, 'token expired');
    await seen.until(() => seen.closed !== undefined);
    expect(seen.closed).toEqual({ code: 4401, reason: 'token expired' });
    expect((await closed)[0]).toBe(4401);
    expect(seen.errors).toEqual([]);
  });

  it('closes with a handshake the server sees, code and reason intact', async () => {
    const { ws, seen } = await pair();
    const closed = once(server, 'close');
    ws.close(4000, 'done here');
    expect(await closed).toEqual([4000, 'done here']);
    await seen.until(() => seen.closed !== undefined);
    expect(seen.closed!.code).toBe(4000);
    expect(ws.state).toBe('closed');
    expect(ws.send('too late')).toBe(false);
  });

  it('fails the handshake with the status when the server refuses the upgrade', async () => {
    const { seen } = connect(url.replace('token=right', 'token=wrong'));
    await seen.until(() => seen.closed !== undefined);
    expect(seen.opened).toBe(false);
    expect(seen.errors[0]).toBeInstanceOf(HandshakeError);
    expect((seen.errors[0] as HandshakeError).status).toBe(401);
    expect(seen.errors[0]!.message).toContain('unauthorized');
    expect(seen.closed!.code).toBe(CloseCode.abnormal);
  });
});

describe('LeanWebSocket against bytes written by hand (Node HTTP server)', () => {
  const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
  let http: Server;
  let url = '';
  /** what the next upgrade does with its socket */
  let onUpgrade: (req: IncomingMessage, socket: Socket) => void = () => {};
  /** upgraded sockets leave the HTTP server's books (and it allows half-open ones): closed by the test */
  const upgraded = new Set<Socket>();

  beforeAll(async () => {
    http = createServer();
    http.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      onUpgrade(req, socket);
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/raw`;
  });

  afterEach(() => {
    for (const socket of upgraded) socket.destroy();
  });

  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  const accept = (req: IncomingMessage) => createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
  const upgradeHead = (req: IncomingMessage, acceptValue = accept(req)) =>
    Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptValue}\r\n\r\n`);

  /**
   * Plays the server's side: collects what the client sends and, as RFC 6455 has a server do, closes TCP once the
   * client's Close frame is in. Resolves with everything the client sent.
   */
  function serverSide(socket: Socket): Promise<Buffer> {
    let received = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (clientFrames(received).some((f) => f.opcode === Opcode.close)) socket.end();
    });
    return new Promise((resolve) => socket.once('close', () => resolve(received)));
  }

  /** Client frames the server received: unmasked here, with the mask bit checked. */
  function clientFrames(bytes: Buffer): { opcode: number; masked: boolean; payload: Buffer }[] {
    const frames = [];
    for (let i = 0; i + 2 <= bytes.length; ) {
      let length = bytes[i + 1]! & 0x7f;
      let at = i + 2;
      if (length === 126) (length = bytes.readUInt16BE(at)), (at += 2);
      else if (length === 127) (length = Number(bytes.readBigUInt64BE(at))), (at += 8);
      const masked = (bytes[i + 1]! & 0x80) !== 0;
      const mask = masked ? bytes.subarray(at, at + 4) : Buffer.alloc(4);
      if (masked) at += 4;
      if (at + length > bytes.length) break;
      const payload = Buffer.from(bytes.subarray(at, at + length).map((b, k) => b ^ mask[k & 3]!));
      frames.push({ opcode: bytes[i]! & 0x0f, masked, payload });
      i = at + length;
    }
    return frames;
  }

  it('parses frames and the handshake response cut into reads of 1 to 7 bytes', async () => {
    const big = randomBytes(70_000);
    const stream = Buffer.concat([
      serverFrame(Opcode.text, Buffer.from('small')),
      serverFrame(Opcode.text, Buffer.from('m'.repeat(300))),
      serverFrame(Opcode.binary, big),
      serverFrame(Opcode.text, Buffer.from('frag-1 '), { fin: false }),
      serverFrame(Opcode.ping, Buffer.from('p1')),
      serverFrame(Opcode.continuation, Buffer.from('frag-2 '), { fin: false }),
      serverFrame(Opcode.continuation, Buffer.from('frag-3'), { fin: true }),
      serverFrame(Opcode.close, closePayload(1001, 'going away')),
    ]);
    const serverDone = new Promise<Buffer>((resolve) => {
      onUpgrade = async (req, socket) => {
        socket.setNoDelay(true);
        resolve(serverSide(socket));
        const bytes = Buffer.concat([upgradeHead(req), stream]);
        // Each write goes out on its own and the client reads it before the next (setImmediate between them).
        for (let i = 0, k = 0; i < bytes.length; k++) {
          const n = 1 + (k % 7);
          socket.write(bytes.subarray(i, i + n));
          i += n;
          await new Promise((r) => setImmediate(r));
        }
      };
    });
    const { seen } = connect(url);
    await seen.until(() => seen.closed !== undefined);
    expect(seen.messages.map((m) => (m.binary ? Buffer.from(m.text, 'latin1').equals(big) : m.text))).toEqual(['small', 'm'.repeat(300), true, 'frag-1 frag-2 frag-3']);
    expect(seen.closed).toEqual({ code: 1001, reason: 'going away' });
    const answers = clientFrames(await serverDone);
    expect(answers.map((f) => [f.opcode, f.masked])).toEqual([
      [Opcode.pong, true],
      [Opcode.close, true],
    ]);
    expect(answers[0]!.payload.toString()).toBe('p1');
    expect(answers[1]!.payload.readUInt16BE(0)).toBe(1001);
  });

  it('fails the connection with 1002 on a masked server frame, telling the server why', async () => {
    const serverDone = new Promise<Buffer>((resolve) => {
      onUpgrade = (req, socket) => {
        resolve(serverSide(socket));
        socket.write(Buffer.concat([upgradeHead(req), serverFrame(Opcode.text, Buffer.from('ok')), serverFrame(Opcode.text, Buffer.from('masked'), { mask: true })]));
      };
    });
    const { seen } = connect(url);
    await seen.until(() => seen.closed !== undefined);
    expect(seen.messages.map((m) => m.text)).toEqual(['ok']);
    expect(seen.errors[0]).toBeInstanceOf(ProtocolError);
    expect(seen.closed!.code).toBe(CloseCode.protocolError);
    const [close] = clientFrames(await serverDone);
    expect(close).toMatchObject({ opcode: Opcode.close, masked: true });
    expect(close!.payload.readUInt16BE(0)).toBe(CloseCode.protocolError);
  });

  it('refuses a 101 whose Sec-WebSocket-Accept does not answer its key', async () => {
    onUpgrade = (req, socket) => socket.write(upgradeHead(req, createHash('sha1').update('someone else').digest('base64')));
    const { seen } = connect(url);
    await seen.until(() => seen.closed !== undefined);
    expect(seen.opened).toBe(false);
    expect(seen.errors[0]).toBeInstanceOf(HandshakeError);
    expect(seen.errors[0]!.message).toContain('Sec-WebSocket-Accept');
  });

  it('sends a real upgrade request: GET, version 13, a fresh 16-byte key', async () => {
    const requests = new Promise<IncomingMessage>((resolve) => {
      onUpgrade = (req, socket) => {
        resolve(req);
        socket.write(upgradeHead(req));
      };
    });
    const { seen } = connect(`${url}?token=a%20b`);
    const req = await requests;
    await seen.until(() => seen.opened);
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/raw?token=a%20b');
    expect(req.headers).toMatchObject({ upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13' });
    expect(Buffer.from(req.headers['sec-websocket-key']!, 'base64')).toHaveLength(16);
    expect(req.headers['sec-websocket-extensions']).toBeUndefined();
  });

  it('reports a server that closes TCP without a Close frame as 1006', async () => {
    onUpgrade = (req, socket) => socket.end(Buffer.concat([upgradeHead(req), serverFrame(Opcode.text, Buffer.from('last words'))]));
    const { seen } = connect(url);
    await seen.until(() => seen.closed !== undefined);
    expect(seen.messages.map((m) => m.text)).toEqual(['last words']);
    expect(seen.closed!.code).toBe(CloseCode.abnormal);
  });
});

describe('FrameReader', () => {
  /** Frames of every length encoding, a fragmented message with a ping inside, then Close. */
  const stream = Buffer.concat([
    serverFrame(Opcode.text, Buffer.from('a')),
    serverFrame(Opcode.text, Buffer.from('b'.repeat(126))),
    serverFrame(Opcode.binary, Buffer.alloc(65_536, 7)),
    serverFrame(Opcode.text, Buffer.from('x'), { fin: false }),
    serverFrame(Opcode.ping, Buffer.from('p')),
    serverFrame(Opcode.continuation, Buffer.from('y'), { fin: false }),
    serverFrame(Opcode.continuation, Buffer.from('z')),
    serverFrame(Opcode.text, Buffer.from('after')),
    serverFrame(Opcode.close, closePayload(1000, '')),
    serverFrame(Opcode.text, Buffer.from('never read')),
  ]);

  function read(chunks: Buffer[]): string[] {
    const out: string[] = [];
    const sink: FrameSink = {
      message: (data, start, end, binary) => out.push(binary ? `bin:${end - start}:${data[start]}` : `text:${data.toString('utf8', start, end)}`),
      ping: (payload) => out.push(`ping:${payload}`),
      pong: (payload) => out.push(`pong:${payload}`),
      close: (code, reason) => out.push(`close:${code}:${reason}`),
      fail: (code, reason) => out.push(`fail:${code}:${reason}`),
    };
    const reader = new FrameReader(sink);
    // Each chunk is overwritten after push, as the shared read buffer is: the reader must have copied what it kept.
    for (const chunk of chunks) {
      const scratch = Buffer.from(chunk);
      reader.push(scratch, 0, scratch.length);
      scratch.fill(0xee);
    }
    return out;
  }

  const expected = ['text:a', `text:${'b'.repeat(126)}`, 'bin:65536:7', 'ping:p', 'text:xyz', 'text:after', 'close:1000:'];

  it('reads the same frames whatever the read boundaries: every cut in two, and single bytes', () => {
    expect(read([stream])).toEqual(expected);
    for (let cut = 1; cut < 400; cut++) expect(read([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    for (let cut = stream.length - 300; cut < stream.length; cut++) expect(read([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    expect(read(Array.from(stream, (b) => Buffer.from([b])))).toEqual(expected);
  });

  it('hands a frame that sits inside a larger buffer over in place', () => {
    const frames: [number, number][] = [];
    const reader = new FrameReader({ message: (_d, start, end) => frames.push([start, end]), ping() {}, pong() {}, close() {}, fail() {} });
    const buf = Buffer.concat([Buffer.from('junk'), serverFrame(Opcode.text, Buffer.from('one')), serverFrame(Opcode.text, Buffer.from('two')), Buffer.from('tail')]);
    reader.push(buf, 4, buf.length - 4);
    expect(frames).toEqual([
      [6, 9],
      [11, 14],
    ]);
  });

  it('fails on what RFC 6455 forbids a server', () => {
    const fail = (frame: Buffer) => read([frame]).find((e) => e.startsWith('fail:'));
    expect(fail(serverFrame(Opcode.text, Buffer.from('m'), { mask: true }))).toMatch(/^fail:1002:.*masked/);
    expect(fail(serverFrame(Opcode.text, Buffer.from('r'), { rsv: 0x40 }))).toMatch(/^fail:1002:.*RSV/);
    expect(fail(serverFrame(Opcode.continuation, Buffer.from('c')))).toMatch(/^fail:1002:.*continuation/);
    expect(fail(serverFrame(Opcode.ping, Buffer.alloc(126)))).toMatch(/^fail:1002:.*125/);
    expect(fail(serverFrame(Opcode.ping, Buffer.from('p'), { fin: false }))).toMatch(/^fail:1002:.*fragmented control/);
    expect(fail(serverFrame(0x3, Buffer.from('?')))).toMatch(/^fail:1002:.*reserved opcode/);
    expect(fail(serverFrame(Opcode.close, closePayload(1005, '')))).toMatch(/^fail:1002:.*close code 1005/);
    expect(fail(Buffer.concat([serverFrame(Opcode.text, Buffer.from('x'), { fin: false }), serverFrame(Opcode.text, Buffer.from('y'))]))).toMatch(/^fail:1002:.*inside a fragmented/);
    const reader = new FrameReader({ message() {}, ping() {}, pong() {}, close() {}, fail: (code) => expect(code).toBe(CloseCode.tooBig) }, 1000);
    const tooBig = serverFrame(Opcode.text, Buffer.alloc(1001));
    reader.push(tooBig, 0, tooBig.length);
    expect(reader.stopped).toBe(true);
  });
});

/** A server frame as a server writes it: unmasked unless a test wants a violation. */
function serverFrame(opcode: number, payload: Buffer, options: { fin?: boolean; mask?: boolean; rsv?: number } = {}): Buffer {
  const { fin = true, mask = false, rsv = 0 } = options;
  const length = payload.length;
  const header = Buffer.alloc(length < 126 ? 2 : length < 65_536 ? 4 : 10);
  header[0] = (fin ? 0x80 : 0) | rsv | opcode;
  if (length < 126) header[1] = length;
  else if (length < 65_536) (header[1] = 126), header.writeUInt16BE(length, 2);
  else (header[1] = 127), header.writeBigUInt64BE(BigInt(length), 2);
  if (!mask) return Buffer.concat([header, payload]);
  header[1]! |= 0x80;
  const key = randomBytes(4);
  return Buffer.concat([header, key, Buffer.from(payload.map((b, i) => b ^ key[i & 3]!))]);
}

function closePayload(code: number, reason: string): Buffer {
  const body = Buffer.alloc(2 + Buffer.byteLength(reason));
  body.writeUInt16BE(code, 0);
  body.write(reason, 2);
  return body;
}
