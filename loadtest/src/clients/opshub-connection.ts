import { nowMs } from '../core/payload.ts';
import type { BenchConnection, ConnectionSetup } from './bench-connection.ts';
import { reconnectDelay } from './bench-connection.ts';
import { openFrameSocket, type FrameSocket, type OpshubClient } from './frame-socket.ts';
import { OP_BYTE, OP_MSG, readMsg } from './frame-fields.ts';

const SUB_ID = 1;

/**
 * An opshub subscriber on the lean WebSocket client or on `ws` (see {@link OpshubClient}): `{"op":"sub"}` with a
 * token in the query, message fields read without JSON.parse, and on a dropped connection a resume on the failover
 * hub with `since` = the last seq it saw.
 */
export class OpshubConnection implements BenchConnection {
  lastN = 0;
  gaps = 0;
  duplicates = 0;
  lastSeq = 0;
  subscribed = false;
  dead = false;
  droppedAt = 0;
  backAt = 0;
  readonly recovered = false;
  /** `reset` frames: the hub could not replay the gap (counted as loss by the driver) */
  resets = 0;
  #socket: FrameSocket | undefined;
  #closing = false;

  constructor(
    private readonly setup: ConnectionSetup,
    private readonly client: OpshubClient,
  ) {}

  open(): Promise<void> {
    // open() after close() is a retry: start over
    this.#closing = false;
    this.dead = false;
    return this.#connect(this.setup.group.url, undefined);
  }

  close(): void {
    this.#closing = true;
    this.dead = true;
    this.#socket?.terminate();
  }

  #connect(url: string, since: number | undefined): Promise<void> {
    const { token, name, localAddress, recorder, stats } = this.setup;
    return new Promise((resolve, reject) => {
      let confirmed = false;
      const socket = openFrameSocket(this.client, `${url}?token=${encodeURIComponent(token)}`, localAddress, {
        open: () => socket.send(JSON.stringify(since === undefined ? { op: 'sub', topic: name, id: SUB_ID } : { op: 'sub', topic: name, since, id: SUB_ID })),
        message: (data, start, end) => {
          if (data[start + OP_BYTE] === OP_MSG) {
            const { seq, t, n } = readMsg(data, start, end);
            this.lastSeq = seq;
            recorder.message(stats, this, n, t);
            return;
          }
          const frame = JSON.parse(data.toString('utf8', start, end)) as { op: string; id?: unknown; message?: string; seq?: number };
          if (frame.op === 'ok' && frame.id === SUB_ID && !confirmed) {
            confirmed = true;
            this.subscribed = true;
            if (since !== undefined) this.backAt = nowMs();
            resolve();
          } else if (frame.op === 'err' && !confirmed) {
            reject(new Error(`sub refused: ${frame.message}`));
            socket.terminate();
          } else if (frame.op === 'reset') {
            this.resets++;
          }
        },
        error: (err) => {
          if (!confirmed) reject(err);
        },
        close: () => {
          this.subscribed = false;
          if (!confirmed) return reject(new Error('closed before the subscription was confirmed'));
          if (!this.#closing) this.#dropped();
        },
      });
      this.#socket = socket;
    });
  }

  #dropped(): void {
    this.droppedAt = nowMs();
    this.setup.recorder.closed++;
    const failover = this.setup.group.failoverUrl;
    if (!failover) {
      this.dead = true;
      return;
    }
    const attempt = (k: number) => {
      if (this.#closing) return;
      this.#connect(failover, this.lastSeq).catch(() => setTimeout(() => attempt(k + 1), reconnectDelay(k + 1)));
    };
    setTimeout(() => attempt(0), reconnectDelay(0));
  }
}
