import type { ChildProcess } from 'node:child_process';

/**
 * Request/response over a child's IPC channel, typed by a spec shared by both sides.
 *
 * The driver calls `client.call('publish', {...})`; the child answers from `serve({ publish: async (arg) => ... })`.
 * Children also push unsolicited events (`ready`). IPC uses the `advanced` serialisation, so typed arrays
 * (histogram counts) cross without JSON.
 */
export type RpcSpec = Record<string, { arg: unknown; result: unknown }>;
export type RpcHandlers<S extends RpcSpec> = { [K in keyof S]: (arg: S[K]['arg']) => S[K]['result'] | Promise<S[K]['result']> };

interface Request {
  readonly rpc: 'req';
  readonly id: number;
  readonly op: string;
  readonly arg: unknown;
}
interface Response {
  readonly rpc: 'res';
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}
interface Event {
  readonly rpc: 'event';
  readonly name: string;
  readonly data: unknown;
}
type Message = Request | Response | Event;

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { rpc?: unknown }).rpc === 'string';
}

/** A call the child answered with an error, or that the child did not answer in time. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly process: string,
    readonly op: string,
    message: string,
  ) {
    super(`${process}: ${op}: ${message}`);
  }
}

/**
 * Child side: answers the driver's calls. The child exits when the driver goes away (IPC disconnect), so no
 * server or client process outlives a driver that was killed, even with SIGKILL.
 * @example serve<ServerSpec>({ stats: () => ({ rss: process.memoryUsage().rss }) });
 */
export function serve<S extends RpcSpec>(handlers: RpcHandlers<S>): void {
  if (!process.send) throw new Error('serve() needs an IPC channel: start this file through the bench driver');
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: unknown) => {
    if (!isMessage(message) || message.rpc !== 'req') return;
    const handler = (handlers as Record<string, ((arg: unknown) => unknown) | undefined>)[message.op];
    const reply = (response: Omit<Response, 'rpc' | 'id'>) => {
      if (process.connected) process.send!({ rpc: 'res', id: message.id, ...response } satisfies Response);
    };
    if (!handler) return reply({ ok: false, error: `unknown op ${message.op}` });
    Promise.resolve()
      .then(() => handler(message.arg))
      .then(
        (result) => reply({ ok: true, result }),
        (error: unknown) => reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
}

/**
 * Child side: tells the driver something happened (`ready` with the port it listens on).
 * @example emit('ready', { port });
 */
export function emit(name: string, data: unknown = {}): void {
  if (process.connected) process.send!({ rpc: 'event', name, data } satisfies Event);
}

/** Driver side of {@link serve}. */
export class RpcClient<S extends RpcSpec> {
  #nextId = 1;
  readonly #pending = new Map<number, { op: string; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #events: Event[] = [];
  readonly #eventWaiters: { name: string; resolve: (data: unknown) => void; reject: (e: Error) => void }[] = [];
  #gone: string | undefined;

  constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    /** recent output of the child, for error messages */
    private readonly tail: () => string,
  ) {
    child.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      if (message.rpc === 'res') {
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.ok) pending.resolve(message.result);
        else pending.reject(new RpcError(this.name, pending.op, message.error ?? 'failed'));
      } else if (message.rpc === 'event') {
        const waiter = this.#eventWaiters.findIndex((w) => w.name === message.name);
        if (waiter >= 0) this.#eventWaiters.splice(waiter, 1)[0]!.resolve(message.data);
        else this.#events.push(message);
      }
    });
    child.once('exit', (code, signal) => this.#fail(`exited (${signal ?? code})`));
  }

  /** Calls `op` in the child; rejects when it throws, exits, or does not answer within `timeoutMs`. */
  call<K extends keyof S & string>(op: K, arg: S[K]['arg'], timeoutMs = 60_000): Promise<S[K]['result']> {
    if (this.#gone) return Promise.reject(new RpcError(this.name, op, `${this.#gone}\n${this.tail()}`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcError(this.name, op, `no answer within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.#pending.set(id, { op, resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ rpc: 'req', id, op, arg } satisfies Request);
    });
  }

  /** Resolves with the data of the first `name` event (already received or still to come). */
  event<T>(name: string, timeoutMs = 60_000): Promise<T> {
    const seen = this.#events.findIndex((e) => e.name === name);
    if (seen >= 0) return Promise.resolve(this.#events.splice(seen, 1)[0]!.data as T);
    if (this.#gone) return Promise.reject(new RpcError(this.name, name, `${this.#gone}\n${this.tail()}`));
    return new Promise((resolve, reject) => {
      const waiter = { name, resolve: resolve as (d: unknown) => void, reject };
      const timer = setTimeout(() => {
        const i = this.#eventWaiters.indexOf(waiter);
        if (i >= 0) this.#eventWaiters.splice(i, 1);
        reject(new RpcError(this.name, name, `not within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      waiter.resolve = (d) => (clearTimeout(timer), resolve(d as T));
      waiter.reject = (e) => (clearTimeout(timer), reject(e));
      this.#eventWaiters.push(waiter);
    });
  }

  #fail(reason: string): void {
    this.#gone = reason;
    const error = (op: string) => new RpcError(this.name, op, `${reason}\n${this.tail()}`);
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(error(pending.op));
      this.#pending.delete(id);
    }
    for (const waiter of this.#eventWaiters.splice(0)) waiter.reject(error(waiter.name));
  }
}
