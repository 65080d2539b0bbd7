import { HubFrame } from '@opshub/schema';
import { z } from 'zod';
import { backoffDelay, defaultBackoff, type BackoffPolicy } from './backoff.ts';
import { FrameBatcher, type FrameHost } from './frame-batcher.ts';
import { TopicCursor, type StartFrom, type SubRequest } from './topic-cursor.ts';

/** One `msg` frame's payload as the page sees it. `data` is still unparsed: each topic's model validates its own. */
export interface LiveMessage {
  readonly seq: number;
  readonly ts: number;
  readonly data: unknown;
}

/** What a page hands the connection for one topic. */
export interface TopicSink {
  /** Messages in seq order, each exactly once, in batches of one animation frame. */
  messages(batch: readonly LiveMessage[]): void;
  /** The hub confirmed the subscription: everything up to `head` has been delivered; live from here. */
  live?(head: number): void;
  /** The hub cannot replay what was missed (older than its window): refetch state; the stream continues after `head`. */
  reset?(head: number): void;
  /** The hub refused the subscription (e.g. `forbidden`). */
  refused?(code: string, message: string): void;
}

export interface Subscription {
  readonly topic: string;
  /** The last seq delivered, when known. */
  readonly lastSeq: number | undefined;
  /** The hub's epoch `lastSeq` belongs to, when known: a seq from another epoch (a REST snapshot's, say) is unrelated. */
  readonly epoch: string | undefined;
  /**
   * Replays the topic from `since` in `epoch`: used when a snapshot fetched over REST reflects an older point than the
   * stream, so the messages after the snapshot are delivered again (the sink has just replaced its state with the
   * snapshot). Under another epoch the hub answers `reset` instead. `since` 0 replays all the hub retains.
   */
  resume(since: number, epoch?: string): void;
  close(): void;
}

export type ConnectionState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'live' }
  | { readonly kind: 'reconnecting'; readonly attempt: number; readonly retryAt: number; readonly reason: string }
  | { readonly kind: 'stopped'; readonly reason: string };

/** The slice of the DOM WebSocket the connection uses (a fake stands in for it in unit tests). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface LiveConnectionOptions {
  /** The `/ws` URL with the token, asked for on every attempt (the token may have been replaced). */
  readonly url: () => string;
  readonly createSocket?: (url: string) => SocketLike;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  readonly onState?: (state: ConnectionState) => void;
  /** Called before each reconnect; a returned reason stops reconnecting (e.g. the token has expired). */
  readonly stopReason?: () => string | undefined;
  /** An app-level ping this often while open; a socket silent for `staleMs` is treated as dead. */
  readonly heartbeatMs?: number;
  readonly staleMs?: number;
  readonly commandTimeoutMs?: number;
  readonly frameHost?: FrameHost;
  readonly log?: Pick<Console, 'warn' | 'error'>;
}

/** A command answered with `err`. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A command could not be sent, or its answer was lost with the connection (it may or may not have run). */
export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
}

export class DuplicateSubscriptionError extends Error {
  override readonly name = 'DuplicateSubscriptionError';
  constructor(readonly topic: string) {
    super(`"${topic}" already has a subscription on this connection; share its model instead`);
  }
}

const OPEN = 1;
const SubResult = z.object({
  topic: z.string(),
  seq: z.number().int().optional(),
  superseded: z.boolean().optional(),
  /** optional: the hub's id for the topic's seq history (changes when seqs restart) */
  epoch: z.string().optional(),
});

interface TopicEntry {
  readonly cursor: TopicCursor;
  readonly sink: TopicSink;
  queue: LiveMessage[];
}

interface PendingCommand {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One WebSocket to the hub's `/ws`, shared by every topic a page shows.
 *
 * - Reconnects with exponential backoff and jitter; on each new socket every topic is subscribed again with
 *   `since` = the last seq it delivered and the hub epoch that seq is in, so the hub replays exactly what was
 *   missed, or answers `reset` when its seqs restarted since (a new epoch).
 * - Each topic's {@link TopicCursor} drops duplicates and closes gaps, so a sink sees every message once, in order.
 * - Messages are handed to sinks in one batch per animation frame.
 *
 * @example
 * const live = new LiveConnection({ url: () => `wss://hub/ws?token=${token}` });
 * live.subscribe('event/expo/announcements', { messages: (batch) => feed.add(batch) });
 * live.start();
 */
export class LiveConnection {
  readonly #options: LiveConnectionOptions;
  readonly #topics = new Map<string, TopicEntry>();
  /** sub id → topic, for the `ok`/`err` answers of subscriptions */
  readonly #subIds = new Map<string, string>();
  readonly #commands = new Map<string, PendingCommand>();
  readonly #batcher: FrameBatcher;
  #socket: SocketLike | undefined;
  #state: ConnectionState = { kind: 'connecting', attempt: 0 };
  #attempt = 0;
  #nextId = 1;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastFrameAt = 0;
  #stopped = false;

  constructor(options: LiveConnectionOptions) {
    this.#options = options;
    this.#batcher = new FrameBatcher(() => this.#deliver(), 250, options.frameHost);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  start(): void {
    this.#stopped = false;
    if (!this.#socket && this.#retryTimer === undefined) this.#connect();
  }

  /** Skips the backoff wait (e.g. the browser reports it is back online). */
  retryNow(): void {
    if (this.#state.kind !== 'reconnecting') return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#connect();
  }

  /**
   * Subscribes `sink` to `topic`, now if connected, else as soon as the socket opens.
   * @throws {DuplicateSubscriptionError} when the topic already has a sink on this connection
   */
  subscribe(topic: string, sink: TopicSink, from: StartFrom = 'live'): Subscription {
    if (this.#topics.has(topic)) throw new DuplicateSubscriptionError(topic);
    const entry: TopicEntry = { cursor: new TopicCursor(topic, from), sink, queue: [] };
    this.#topics.set(topic, entry);
    if (this.#isOpen()) this.#sendSub(entry.cursor.subscribe(this.#id('s')));
    return {
      topic,
      get lastSeq() {
        return entry.cursor.lastSeq;
      },
      get epoch() {
        return entry.cursor.epoch;
      },
      resume: (since, epoch) => {
        if (this.#topics.get(topic) !== entry) return;
        entry.queue = [];
        // Disconnected, the cursor just moves: the next socket subscribes from there.
        const request = entry.cursor.resubscribe(this.#id('s'), since, epoch);
        if (this.#isOpen()) this.#sendSub(request);
      },
      close: () => {
        if (this.#topics.get(topic) !== entry) return;
        this.#topics.delete(topic);
        if (this.#isOpen()) this.#send({ op: 'unsub', topic });
      },
    };
  }

  /**
   * Sends a command and resolves with its result.
   * @throws {NotConnectedError} when not connected, or when the connection drops before the answer
   * @throws {CommandError} when the hub answers `err`
   * @example await live.command('announce.send', { event: 'expo', text: 'Doors open', level: 'info' })
   */
  command(name: string, args: Record<string, unknown>): Promise<unknown> {
    if (!this.#isOpen()) return Promise.reject(new NotConnectedError('not connected to the hub; try again when the console is live'));
    const id = this.#id('c');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#commands.delete(id);
        reject(new NotConnectedError(`no answer to ${name} within ${this.#timeouts.command} ms`));
      }, this.#timeouts.command);
      this.#commands.set(id, { resolve, reject, timer });
      this.#send({ op: 'cmd', id, name, args });
    });
  }

  /** Closes the socket for good. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const socket = this.#socket;
    this.#dropped('closed by the console');
    socket?.close(1000, 'console closed');
    this.#batcher.cancel();
    this.#setState({ kind: 'stopped', reason: 'closed' });
  }

  get #timeouts() {
    return {
      heartbeat: this.#options.heartbeatMs ?? 20_000,
      stale: this.#options.staleMs ?? 45_000,
      command: this.#options.commandTimeoutMs ?? 15_000,
    };
  }

  #connect(): void {
    this.#retryTimer = undefined;
    const stop = this.#attempt > 0 ? this.#options.stopReason?.() : undefined;
    if (stop) return this.#stop(stop);
    this.#setState({ kind: 'connecting', attempt: this.#attempt });
    let socket: SocketLike;
    try {
      const create = this.#options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
      socket = create(this.#options.url());
    } catch (error) {
      this.#scheduleRetry(error instanceof Error ? error.message : String(error));
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#attempt = 0;
      this.#lastFrameAt = Date.now();
      this.#setState({ kind: 'live' });
      for (const entry of this.#topics.values()) this.#sendSub(entry.cursor.subscribe(this.#id('s')));
      this.#heartbeat = setInterval(() => this.#beat(socket), this.#timeouts.heartbeat);
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#lastFrameAt = Date.now();
      if (typeof event.data === 'string') this.#frame(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#dropped(`connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
      if (this.#stopped) return;
      // 1012: the hub is restarting. Its seq history may restart with it (the in-process bus does); a hub that names
      // its epoch settles that on resubscribe, one that does not leaves only this hint.
      if (event.code === 1012) for (const entry of this.#topics.values()) entry.cursor.suspect = true;
      // 4401/4403: the hub refused the token or the role; trying again will not change its mind.
      if (event.code === 4401 || event.code === 4403) return this.#stop(`the hub refused the connection: ${event.reason || event.code}`);
      this.#scheduleRetry(event.code === 1012 ? 'the hub restarted' : 'connection lost');
    };
    socket.onerror = () => {
      // The close event follows and carries what can be known; the browser hides the reason on purpose.
    };
  }

  #beat(socket: SocketLike): void {
    if (this.#socket !== socket) return;
    if (Date.now() - this.#lastFrameAt > this.#timeouts.stale) {
      // A silently dead TCP connection can take minutes to report close; do not wait for it.
      this.#dropped('no frames from the hub');
      socket.close(4000, 'stale');
      this.#scheduleRetry('the hub stopped answering');
      return;
    }
    this.#send({ op: 'ping' });
  }

  /** Forgets the current socket: in-flight subscriptions and commands will never be answered by it. */
  #dropped(reason: string): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    }
    this.#batcher.flush();
    this.#subIds.clear();
    for (const entry of this.#topics.values()) entry.cursor.disconnected();
    for (const [id, pending] of this.#commands) {
      clearTimeout(pending.timer);
      pending.reject(new NotConnectedError(`the connection dropped before the hub answered (${reason}); the command may or may not have run`));
      this.#commands.delete(id);
    }
  }

  #scheduleRetry(reason: string): void {
    if (this.#stopped) return;
    this.#attempt++;
    const delay = backoffDelay(this.#attempt, this.#options.backoff ?? defaultBackoff, this.#options.random);
    this.#setState({ kind: 'reconnecting', attempt: this.#attempt, retryAt: Date.now() + delay, reason });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #stop(reason: string): void {
    this.#stopped = true;
    this.#setState({ kind: 'stopped', reason });
  }

  #frame(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#options.log?.warn('opshub: ignoring a frame that is not JSON');
      return;
    }
    const parsed = HubFrame.safeParse(json);
    if (!parsed.success) {
      this.#options.log?.warn('opshub: ignoring a frame outside the protocol', json);
      return;
    }
    const frame = parsed.data;
    switch (frame.op) {
      case 'msg':
        return this.#message(frame.topic, frame.seq, frame.ts, frame.data);
      case 'reset':
        return this.#reset(frame.topic, frame.seq);
      case 'ok':
        return this.#ok(String(frame.id), frame.result);
      case 'err':
        return this.#err(frame.id === undefined ? undefined : String(frame.id), frame.code, frame.message);
      case 'pong':
        return;
    }
  }

  #message(topic: string, seq: number, ts: number, data: unknown): void {
    const entry = this.#topics.get(topic);
    if (!entry) return;
    const verdict = entry.cursor.accept(seq);
    if (verdict === 'deliver') {
      entry.queue.push({ seq, ts, data });
      this.#batcher.request();
    } else if (verdict === 'gap' && !entry.cursor.replaying) {
      this.#sendSub(entry.cursor.resubscribe(this.#id('s')));
    }
  }

  #reset(topic: string, head: number): void {
    const entry = this.#topics.get(topic);
    if (!entry) return;
    // Whatever was queued came before the reset: deliver it first so the sink's order matches the hub's.
    this.#batcher.flush();
    entry.cursor.reset(head);
    this.#call(() => entry.sink.reset?.(head));
  }

  #ok(id: string, result: unknown): void {
    const topic = this.#subIds.get(id);
    if (topic !== undefined) {
      this.#subIds.delete(id);
      const entry = this.#topics.get(topic);
      const parsed = SubResult.safeParse(result);
      if (!entry || !parsed.success || parsed.data.superseded || parsed.data.seq === undefined) return;
      const head = parsed.data.seq;
      const { live, reset, follow } = entry.cursor.confirmed(id, head, () => this.#id('s'), parsed.data.epoch);
      if (follow) this.#sendSub(follow);
      if (live) {
        this.#batcher.flush();
        this.#call(() => (reset ? entry.sink.reset?.(head) : entry.sink.live?.(head)));
      }
      return;
    }
    const pending = this.#commands.get(id);
    if (!pending) return;
    this.#commands.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }

  #err(id: string | undefined, code: string, message: string): void {
    if (id === undefined) {
      this.#options.log?.warn(`opshub: the hub reported ${code}: ${message}`);
      return;
    }
    const topic = this.#subIds.get(id);
    if (topic !== undefined) {
      this.#subIds.delete(id);
      const entry = this.#topics.get(topic);
      if (entry) this.#call(() => entry.sink.refused?.(code, message));
      return;
    }
    const pending = this.#commands.get(id);
    if (!pending) return;
    this.#commands.delete(id);
    clearTimeout(pending.timer);
    pending.reject(new CommandError(code, message));
  }

  #deliver(): void {
    for (const entry of this.#topics.values()) {
      if (entry.queue.length === 0) continue;
      const batch = entry.queue;
      entry.queue = [];
      this.#call(() => entry.sink.messages(batch));
    }
  }

  #sendSub({ id, topic, since, epoch }: SubRequest): void {
    this.#subIds.set(id, topic);
    this.#send(since === undefined ? { op: 'sub', topic, id } : epoch === undefined ? { op: 'sub', topic, since, id } : { op: 'sub', topic, since, epoch, id });
  }

  #id(prefix: 's' | 'c'): string {
    return `${prefix}${this.#nextId++}`;
  }

  #send(frame: object): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return;
    try {
      socket.send(JSON.stringify(frame));
    } catch (error) {
      this.#options.log?.warn('opshub: send failed', error);
    }
  }

  #isOpen(): boolean {
    return this.#socket?.readyState === OPEN;
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    this.#options.onState?.(state);
  }

  /** A throwing sink must not break the connection for every other topic. */
  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#options.log?.error('opshub: a live topic handler threw', error);
    }
  }
}
