import type { BenchConnection, ConnectionSetup } from './bench-connection.ts';
import { nowMs } from '../core/payload.ts';
import { keys, matchesAt, numberAt, numberEnd } from './frame-fields.ts';
import { LeanWebSocket } from './lean-websocket.ts';
import { decodeOpen, decodeSocketPacket, encodeConnect, encodeEvent, engineIoUrl, EnginePacket, eventPrefix, PONG, SocketPacket } from './socketio-wire.ts';

const SUB_ACK = 1;
const MSG = eventPrefix('msg');

/**
 * A socket.io subscriber on the bench's lean WebSocket client ({@link LeanWebSocket}) speaking Engine.IO v4 and
 * socket.io v5 itself (socketio-wire.ts), so socket.io can be measured with the same client cost as opshub: the
 * other baseline column of fan-out and event-day-mix. It does what {@link SocketioConnection} does on the wire
 * (CONNECT with `auth.token`, `sub` with an ack, `msg` events, the heartbeat answered), and reads `t` and `n` of a
 * `msg` in place as the opshub subscriber does. No reconnection: cross-hub measures socket.io-client's own
 * reconnection and connection-state recovery, so it keeps socket.io-client.
 */
export class LeanSocketioConnection implements BenchConnection {
  lastN = 0;
  gaps = 0;
  duplicates = 0;
  subscribed = false;
  dead = false;
  droppedAt = 0;
  backAt = 0;
  readonly recovered = false;
  #socket: LeanWebSocket | undefined;
  #closing = false;

  constructor(private readonly setup: ConnectionSetup) {
    if (setup.group.failoverUrl !== undefined) throw new Error('the lean socket.io client does not fail over (cross-hub runs socket.io-client)');
  }

  open(): Promise<void> {
    // open() after close() is a retry: start over
    this.#closing = false;
    this.dead = false;
    const { group, token, name, localAddress, recorder, stats } = this.setup;
    return new Promise((resolve, reject) => {
      let confirmed = false;
      const fail = (error: Error) => {
        if (confirmed) return;
        reject(error);
        socket.terminate();
      };
      const socket = new LeanWebSocket(
        engineIoUrl(group.url),
        {
          open: () => {},
          message: (data, start, end) => {
            // Hot path: 42["msg",{"t":T,"n":N,…}]
            if (matchesAt(data, MSG, start, end)) {
              const t = numberAt(data, start + MSG.length, end);
              const n = matchesAt(data, keys.nNext, numberEnd, end) ? numberAt(data, numberEnd + keys.nNext.length, end) : Number.NaN;
              recorder.message(stats, this, n, t);
              return;
            }
            const kind = data[start];
            if (kind === EnginePacket.ping) return void socket.send(PONG);
            const text = data.toString('utf8', start, end);
            try {
              if (kind === EnginePacket.open) {
                decodeOpen(text);
                socket.send(encodeConnect({ token }));
              } else if (kind === EnginePacket.message) {
                const packet = decodeSocketPacket(text.slice(1));
                if (packet.type === SocketPacket.connect) socket.send(encodeEvent(['sub', name], SUB_ACK));
                else if (packet.type === SocketPacket.connectError) fail(new Error(`connect refused: ${(packet.data as { message?: string } | undefined)?.message ?? text}`));
                else if (packet.type === SocketPacket.ack && packet.id === SUB_ACK && !confirmed) {
                  const [ack] = packet.data as [{ ok?: boolean }];
                  if (!ack?.ok) return fail(new Error('sub refused'));
                  confirmed = true;
                  this.subscribed = true;
                  resolve();
                } else if (packet.type === SocketPacket.disconnect) socket.terminate();
              } else if (kind === EnginePacket.close) socket.terminate();
            } catch (error) {
              fail(error instanceof Error ? error : new Error(String(error)));
            }
          },
          error: (error) => fail(error),
          close: () => {
            this.subscribed = false;
            if (!confirmed) return reject(new Error('closed before the subscription was confirmed'));
            if (this.#closing) return;
            this.droppedAt = nowMs();
            recorder.closed++;
            this.dead = true;
          },
        },
        { handshakeTimeoutMs: 30_000, ...(localAddress && { localAddress }) },
      );
      this.#socket = socket;
    });
  }

  close(): void {
    this.#closing = true;
    this.dead = true;
    this.#socket?.terminate();
  }
}

