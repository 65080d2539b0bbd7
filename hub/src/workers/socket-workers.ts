import { createServer, type AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import type { TopicPublisher } from '../topics/topic-relay.ts';
import type { Connection, WsEndpoint, WsLimits } from '../transport/ws-endpoint.ts';
import { RemoteSocket, type SocketHost } from './remote-socket.ts';
import { SharedSocketCounts } from './shared-socket-counts.ts';
import type { Event, FromWorker, Op, RevocationEntry, ToWorker, WorkerAuth, WorkerStart } from './worker-protocol.ts';

export interface SocketWorkersOptions {
  /** worker threads serving the public port (HUB_WORKERS) */
  readonly count: number;
  readonly auth: WorkerAuth;
  readonly limits: WsLimits;
  readonly hopSecret: string;
  readonly log: Logger;
}

/** A worker did not start, or could not bind the public port. */
export class SocketWorkerError extends Error {
  override readonly name = 'SocketWorkerError';
}

/**
 * The hub's socket workers (HUB_WORKERS > 1): worker threads, each with its own uWS app on the public port
 * (SO_REUSEPORT: the kernel spreads connections over them), so socket I/O and fan-out sends use every core.
 *
 * The main thread keeps everything that decides: the Store, commands, the bus and each topic's seq, the relay's ring
 * and every `/ws` socket's state (the WsEndpoint runs unchanged over {@link RemoteSocket}s). A worker hosts the TCP
 * sockets: it upgrades `/ws` (token checked from its own verifier and mirrors, so the 401 still comes before the
 * upgrade), passes frames in, and carries out sends, subscriptions and publishes in the order the main thread made
 * them. REST and `/yjs` a worker forwards to the main thread's loopback listener.
 *
 * As a uWS app for the relay (`publisher`): a message is published in the main app and queued once per worker with
 * subscribers to the topic; each worker's uWS sends it to its own sockets.
 */
export class SocketWorkers {
  readonly #links: WorkerLink[] = [];
  #endpoint: WsEndpoint | undefined;
  readonly #socketCounts = new SharedSocketCounts();

  constructor(private readonly options: SocketWorkersOptions) {}

  /** what the workers prove forwarded requests with (see transport/forwarded-peer.ts) */
  get hopSecret(): string {
    return this.options.hopSecret;
  }

  /** The endpoint whose sockets the workers host (set once the hub built it). */
  serve(endpoint: WsEndpoint): void {
    this.#endpoint = endpoint;
  }

  /** Starts the threads; they forward REST and /yjs to `internalPort`. Revocations known now go with them. */
  async start(internalPort: number, revocations: readonly RevocationEntry[]): Promise<void> {
    const { count, auth, limits, hopSecret, log } = this.options;
    for (let index = 0; index < count; index++) {
      const start: WorkerStart = { index, auth, limits, internalPort, hopSecret, socketCounts: this.#socketCounts.buffer };
      this.#links.push(new WorkerLink(start, this, log.child({ worker: index })));
    }
    await Promise.all(this.#links.map((link) => link.online));
    if (revocations.length > 0) this.revoked(revocations);
  }

  /**
   * Binds the public port in every worker: the first one decides the port (0 picks one), the others join it.
   * @returns the port, or false when the first worker could not bind it (taken)
   */
  async listen(host: string, port: number): Promise<number | false> {
    const [first, ...rest] = this.#links;
    if (!first) throw new SocketWorkerError('no socket workers started');
    // uWS shares a port (SO_REUSEPORT) only when it is named: for "any port" one is picked first, then named to all.
    let bound: number | false = false;
    for (let attempt = 0; bound === false && attempt < (port === 0 ? 5 : 1); attempt++) {
      bound = await first.listen(host, port === 0 ? await freePort(host) : port);
    }
    if (bound === false) return false;
    for (const link of rest) {
      if ((await link.listen(host, bound)) === false) throw new SocketWorkerError(`socket worker ${link.index} could not join port ${bound}`);
    }
    return bound;
  }

  /** The relay's publisher: the main app (it still hosts nothing, but stays the single-thread path's twin) and every worker with subscribers. */
  publisher(app: TopicPublisher): TopicPublisher {
    return {
      publish: (topic, message, isBinary, compress) => {
        for (const link of this.#links) link.publish(topic, message as string);
        return app.publish(topic, message, isBinary, compress);
      },
      numSubscribers: (topic) => app.numSubscribers(topic) + this.#links.reduce((sum, link) => sum + link.subscribersOf(topic), 0),
    };
  }

  /** Revocations the hub learned: workers refuse those tokens at the upgrade from now on. */
  revoked(entries: readonly RevocationEntry[]): void {
    for (const link of this.#links) link.post({ t: 'revoked', entries });
  }

  /** Workers stop accepting, end what they still hold, and exit. */
  async close(): Promise<void> {
    await Promise.all(this.#links.map((link) => link.stop()));
  }

  /** @internal a worker's events, in its order */
  handle(link: WorkerLink, events: readonly Event[]): void {
    const endpoint = this.#endpoint;
    if (!endpoint) return;
    for (const event of events) {
      // One event that throws must not drop the rest of its batch (later frames of other sockets ride in it).
      try {
        this.#handleOne(link, endpoint, event);
      } catch (err) {
        this.options.log.error({ err, event: event[0] }, 'socket worker event failed');
      }
    }
  }

  #handleOne(link: WorkerLink, endpoint: WsEndpoint, event: Event): void {
    {
      switch (event[0]) {
        case 'open': {
          const socket = new RemoteSocket<Connection>(link, event[1], endpoint.connectionFor(event[2]));
          link.sockets.set(event[1], socket);
          endpoint.openRemote(socket);
          break;
        }
        case 'msg': {
          const socket = link.sockets.get(event[1]);
          // The worker's clock and this thread's differ only in their origin. A frame the worker read before this thread
          // opened the socket's rate-limit bucket is dated before it; the bucket charges such a frame no refill.
          if (socket) endpoint.messageRemote(socket, event[2], event[3], event[4] - performance.timeOrigin);
          break;
        }
        case 'close': {
          const socket = link.sockets.get(event[1]);
          if (!socket) break;
          link.sockets.delete(event[1]);
          socket.closed();
          endpoint.closeRemote(socket, event[2]);
          break;
        }
        case 'refused':
          endpoint.refusedInWorker(event[1]);
          break;
      }
    }
  }
}

/** A port the system has free now (it could be taken before it is bound: the caller retries). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One worker thread and its ordered queue of operations. */
class WorkerLink implements SocketHost {
  readonly sockets = new Map<number, RemoteSocket<Connection>>();
  readonly online: Promise<void>;
  readonly #worker: Worker;
  readonly #subscribers = new Map<string, number>();
  #ops: Op[] = [];
  #flushQueued = false;
  #listening: ((port: number | false) => void) | undefined;
  #stopped: (() => void) | undefined;
  #exited = false;

  constructor(
    readonly start: WorkerStart,
    private readonly pool: SocketWorkers,
    private readonly log: Logger,
  ) {
    this.#worker = new Worker(new URL('./boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./socket-worker.ts', import.meta.url).href, start },
      // Logs go through the main thread's logger; the worker's own stdout is not used.
      stdout: false,
    });
    this.online = new Promise((resolve, reject) => {
      this.#worker.once('online', () => resolve());
      this.#worker.once('error', reject);
    });
    this.#worker.on('message', (message: FromWorker) => this.#receive(message));
    this.#worker.on('error', (err) => this.log.error({ err }, 'socket worker failed'));
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      this.#listening?.(false);
      this.#stopped?.();
      if (code !== 0 && !this.#stopped) this.log.error({ code }, 'socket worker exited');
    });
  }

  get index(): number {
    return this.start.index;
  }

  listen(host: string, port: number): Promise<number | false> {
    return new Promise((resolve) => {
      this.#listening = resolve;
      this.post({ t: 'listen', host, port });
    });
  }

  op(op: Op): void {
    this.#ops.push(op);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // One message per turn: every send and publish of this turn travels together, in order.
    queueMicrotask(() => this.#flush());
  }

  subscribers(topic: string, delta: 1 | -1): void {
    const n = (this.#subscribers.get(topic) ?? 0) + delta;
    if (n > 0) this.#subscribers.set(topic, n);
    else this.#subscribers.delete(topic);
  }

  subscribersOf(topic: string): number {
    return this.#subscribers.get(topic) ?? 0;
  }

  publish(topic: string, frame: string): void {
    if (this.#subscribers.has(topic)) this.op(['pub', topic, frame]);
  }

  /** Posts a control message after every operation queued before it. */
  post(message: ToWorker): void {
    this.#flush();
    if (!this.#exited) this.#worker.postMessage(message);
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const stopped = new Promise<void>((resolve) => (this.#stopped = resolve));
    this.post({ t: 'stop' });
    // A worker that does not answer is left behind: shutdown must not hang on it.
    const timer = setTimeout(() => this.#stopped?.(), 3000);
    await stopped;
    clearTimeout(timer);
    // Longer than uWS's 10 s HTTP idle timeout: a connection the worker could not close itself is gone by then.
    await this.#exit(12_000);
  }

  /**
   * Waits for the worker to exit by itself: it does once uWS has no socket left. It is never terminated: Node
   * aborts the whole process when a worker's loop is torn down while uWS still holds a socket in it.
   */
  async #exit(waitMs: number): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<boolean>((resolve) => {
      this.#worker.once('exit', () => resolve(true));
      setTimeout(() => resolve(false), waitMs).unref();
    });
    if (!(await exited)) {
      // A client that holds a half-closed socket: uWS's own timeouts end it; the process need not wait for that.
      this.log.warn('socket worker still closing sockets; not waiting for it');
      this.#worker.unref();
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#ops.length === 0) return;
    const ops = this.#ops;
    this.#ops = [];
    if (!this.#exited) this.#worker.postMessage({ t: 'ops', ops } satisfies ToWorker);
  }

  #receive(message: FromWorker): void {
    switch (message.t) {
      case 'events':
        return this.pool.handle(this, message.events);
      case 'buffered':
        for (const [conn, bytes] of message.entries) {
          const socket = this.sockets.get(conn);
          if (socket) socket.buffered = bytes;
        }
        return;
      case 'listening': {
        const resolve = this.#listening;
        this.#listening = undefined;
        return resolve?.(message.port);
      }
      case 'stopped':
        return this.#stopped?.();
    }
  }
}
