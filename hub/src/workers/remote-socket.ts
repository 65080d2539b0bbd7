import type { WsSocket } from '../transport/ws-endpoint.ts';
import type { Op } from './worker-protocol.ts';

/** What a remote socket needs of the link to its worker. */
export interface SocketHost {
  /** queues one operation; operations reach the worker in the order they were queued */
  op(op: Op): void;
  /** a socket of this worker joined (+1) or left (-1) a topic: publishes go only to workers with subscribers */
  subscribers(topic: string, delta: 1 | -1): void;
}

/**
 * A WebSocket that lives in a socket worker's uWS loop, seen from the main thread. The endpoint's logic runs here
 * unchanged; what it does to the socket becomes operations queued to the worker in order, so a catch-up's sends and
 * the `subscribe` after them reach the worker before any publish that follows (the relay's exactly-once argument
 * holds across the thread boundary because it is one ordered queue).
 */
export class RemoteSocket<UserData> implements WsSocket<UserData> {
  readonly #topics = new Set<string>();
  /** the worker's last report of the bytes this socket has not taken yet */
  buffered = 0;

  constructor(
    private readonly host: SocketHost,
    readonly conn: number,
    private readonly userData: UserData,
  ) {}

  getUserData(): UserData {
    return this.userData;
  }

  /** Always "sent" (1): a socket that uWS closes for its backlog reports its close, and the endpoint stops then. */
  send(message: string): number {
    this.host.op(['send', this.conn, message]);
    return 1;
  }

  end(code = 1000, shortMessage = ''): void {
    this.host.op(['end', this.conn, code, shortMessage]);
  }

  /** The worker corks each run of sends to one socket itself. */
  cork(cb: () => void): this {
    cb();
    return this;
  }

  subscribe(topic: string): boolean {
    if (this.#topics.has(topic)) return true;
    this.#topics.add(topic);
    this.host.subscribers(topic, 1);
    this.host.op(['sub', this.conn, topic]);
    return true;
  }

  unsubscribe(topic: string): boolean {
    if (!this.#topics.delete(topic)) return false;
    this.host.subscribers(topic, -1);
    this.host.op(['unsub', this.conn, topic]);
    return true;
  }

  isSubscribed(topic: string): boolean {
    return this.#topics.has(topic);
  }

  getBufferedAmount(): number {
    return this.buffered;
  }

  /** The worker reported the socket closed: it leaves its topics (uWS unsubscribed it there). */
  closed(): void {
    for (const topic of this.#topics) this.host.subscribers(topic, -1);
    this.#topics.clear();
  }
}
