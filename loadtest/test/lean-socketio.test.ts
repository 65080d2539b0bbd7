import { EventEmitter, once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BenchConnection } from '../src/clients/bench-connection.ts';
import { LeanSocketioConnection } from '../src/clients/lean-socketio-connection.ts';
import { Recorder, type GroupStats, type Sequenced } from '../src/clients/recorder.ts';
import { SocketioConnection } from '../src/clients/socketio-connection.ts';
import { decodeSocketPacket, encodeEvent, engineIoUrl, eventPrefix, SocketPacket } from '../src/clients/socketio-wire.ts';
import { nowMs, padding } from '../src/core/payload.ts';

/**
 * The bench's lean socket.io client against a real socket.io 4 server (the bench's baseline), side by side with
 * socket.io-client on the same server: both must connect with the same auth, subscribe with the same ack, and see
 * the same messages; the lean one must keep answering the server's heartbeat.
 */

/** A Recorder that says when something arrived, so tests await it instead of sleeping. */
class SeenRecorder extends Recorder {
  readonly events = new EventEmitter();
  override message(group: GroupStats, conn: Sequenced, n: number, t: number): void {
    super.message(group, conn, n, t);
    this.events.emit('message');
  }
  async until(check: () => boolean): Promise<void> {
    while (!check()) await once(this.events, 'message');
  }
}

const PING_INTERVAL_MS = 40;
let http: HttpServer;
let io: Server;
let url = '';
/** pongs the server received, per Engine.IO session */
const pongs = new EventEmitter();
let pongCount = 0;

beforeAll(async () => {
  http = createServer();
  // A fast heartbeat: a client that does not answer pings is dropped after pingInterval + pingTimeout.
  io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, pingInterval: PING_INTERVAL_MS, pingTimeout: 100 });
  io.use((socket, next) => (socket.handshake.auth?.token === 'good' ? next() : next(new Error('unauthorized'))));
  io.on('connection', (socket) => {
    socket.conn.on('packet', (packet: { type: string }) => {
      if (packet.type === 'pong') {
        pongCount++;
        pongs.emit('pong');
      }
    });
    socket.on('sub', (room: unknown, ack: unknown) => {
      const ok = typeof room === 'string' && room !== 'forbidden';
      if (ok) void socket.join(room);
      if (typeof ack === 'function') ack({ ok });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

const open: BenchConnection[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

function subscriber(kind: 'lean' | 'socket.io-client', room: string, token = 'good') {
  const recorder = new SeenRecorder();
  const stats = recorder.group('all');
  const setup = { group: { label: 'all', count: 1, channel: room, url }, stats, recorder, token, name: room, localAddress: undefined };
  const conn = kind === 'lean' ? new LeanSocketioConnection(setup) : new SocketioConnection(setup);
  open.push(conn);
  return { conn, recorder, stats };
}

const publish = (room: string, n: number) => io.to(room).emit('msg', { t: nowMs(), n, p: padding(128) });

describe('socket.io wire encoding', () => {
  it('encodes and decodes the packets the client uses', () => {
    expect(engineIoUrl('http://127.0.0.1:3000')).toBe('ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket');
    expect(() => engineIoUrl('https://example.org')).toThrow(/http:\/\/ and ws:\/\/ only/);
    expect(encodeEvent(['sub', 'checkins'], 1)).toBe('421["sub","checkins"]');
    expect(decodeSocketPacket('31[{"ok":true}]')).toEqual({ type: SocketPacket.ack, id: 1, data: [{ ok: true }] });
    expect(decodeSocketPacket('0{"sid":"abc"}')).toEqual({ type: SocketPacket.connect, id: undefined, data: { sid: 'abc' } });
    expect(() => decodeSocketPacket('2/admin,["x"]')).toThrow(/default namespace/);
    expect(() => decodeSocketPacket('51-["x",{"_placeholder":true,"num":0}]')).toThrow(/binary/);
    expect(eventPrefix('msg').toString()).toBe('42["msg",{"t":');
  });
});

describe('LeanSocketioConnection against socket.io 4', () => {
  it('subscribes with auth and an ack, and records what socket.io-client records', async () => {
    const lean = subscriber('lean', 'room-a');
    const reference = subscriber('socket.io-client', 'room-a');
    await Promise.all([lean.conn.open(), reference.conn.open()]);
    expect(lean.conn.subscribed).toBe(true);
    for (const n of [1, 2, 3]) publish('room-a', n);
    io.to('room-a').emit('other', { t: nowMs(), n: 99, p: '' }); // another event name: not a bench message
    publish('room-b', 7); // another room: never delivered
    publish('room-a', 5); // 4 skipped: a gap of one
    await Promise.all([lean.recorder.until(() => lean.conn.lastN === 5), reference.recorder.until(() => reference.conn.lastN === 5)]);
    for (const side of [lean, reference]) {
      expect(side.stats.received).toBe(4);
      expect(side.stats.gaps).toBe(1);
      expect(side.stats.duplicates).toBe(0);
      // latency from the payload's t: read in place by the lean client, parsed by socket.io-client
      expect(side.stats.histogram.percentile(0.5)).toBeGreaterThanOrEqual(0);
      expect(side.stats.histogram.percentile(0.5)).toBeLessThan(10_000);
    }
  });

  it('answers the server heartbeat, so it stays connected well past pingInterval + pingTimeout', async () => {
    const lean = subscriber('lean', 'room-h');
    await lean.conn.open();
    const start = pongCount;
    while (pongCount < start + 6) await once(pongs, 'pong'); // ≥ 6 × 40 ms, beyond the 140 ms a silent client lasts
    publish('room-h', 1);
    await lean.recorder.until(() => lean.conn.lastN === 1);
    expect(lean.conn.dead).toBe(false);
    expect(lean.recorder.closed).toBe(0);
  });

  it('reports a refused connect and a refused sub as failures to open', async () => {
    await expect(subscriber('lean', 'room-x', 'bad').conn.open()).rejects.toThrow(/connect refused: unauthorized/);
    await expect(subscriber('lean', 'forbidden').conn.open()).rejects.toThrow(/sub refused/);
  });

  it('notices the server dropping it', async () => {
    const lean = subscriber('lean', 'room-d');
    await lean.conn.open();
    const sockets = await io.in('room-d').fetchSockets();
    expect(sockets).toHaveLength(1);
    sockets[0]!.disconnect(true);
    while (!lean.conn.dead) await new Promise((resolve) => setImmediate(resolve));
    expect(lean.recorder.closed).toBe(1);
    expect(lean.conn.subscribed).toBe(false);
  });
});
