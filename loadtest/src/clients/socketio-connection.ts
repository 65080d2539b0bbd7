import { io, type Socket } from 'socket.io-client';
import { nowMs, type BenchPayload } from '../core/payload.ts';
import type { BenchConnection, ConnectionSetup } from './bench-connection.ts';

/**
 * A socket.io-client subscriber (websocket transport only): `sub` acknowledged by the server joining the room.
 * With a failover URL it reconnects through the Manager's own reconnection (so connection-state recovery is
 * attempted), pointed at the other server the way a load balancer would send it there.
 */
export class SocketioConnection implements BenchConnection {
  lastN = 0;
  gaps = 0;
  duplicates = 0;
  subscribed = false;
  dead = false;
  droppedAt = 0;
  backAt = 0;
  recovered = false;
  #socket: Socket | undefined;
  #closing = false;

  constructor(private readonly setup: ConnectionSetup) {}

  open(): Promise<void> {
    // open() after close() is a retry: start over
    this.#closing = false;
    this.dead = false;
    const { group, token, name, localAddress, recorder, stats } = this.setup;
    const failover = group.failoverUrl;
    const socket = io(group.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: failover !== undefined,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
      randomizationFactor: 0.5,
      timeout: 30_000,
      auth: { token },
      // passed through to the `ws` transport
      ...({ localAddress, perMessageDeflate: false } as object),
    });
    this.#socket = socket;
    socket.on('msg', (payload: BenchPayload) => recorder.message(stats, this, payload.n, payload.t));
    return new Promise((resolve, reject) => {
      let first = true;
      socket.on('connect', () => {
        const back = () => {
          this.subscribed = true;
          if (first) {
            first = false;
            resolve();
          } else {
            this.backAt = nowMs();
          }
        };
        if (!first && socket.recovered) {
          this.recovered = true; // the server re-joined the rooms and replayed what was missed
          return back();
        }
        socket.emit('sub', name, (ack: { ok: boolean }) => (ack.ok ? back() : first && reject(new Error('sub refused'))));
      });
      socket.on('connect_error', (err) => {
        if (first && failover === undefined) reject(err);
      });
      socket.on('disconnect', () => {
        this.subscribed = false;
        if (this.#closing || first) return;
        this.droppedAt = nowMs();
        recorder.closed++;
        if (failover === undefined) {
          this.dead = true;
          return;
        }
        // The Manager reconnects to its `uri`; socket.io-client has no public way to change it, and a new io()
        // would not attempt connection-state recovery.
        (socket.io as unknown as { uri: string }).uri = failover;
      });
    });
  }

  close(): void {
    this.#closing = true;
    this.dead = true;
    this.#socket?.disconnect();
  }
}
