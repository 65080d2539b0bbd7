import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from 'uWebSockets.js';
import { ClientFrame, CloseCode, parseTopic, wsLimits, type Claims, type CmdFrame } from '@opshub/schema';
import { subscribeAccess, type SponsorLinks } from '../auth/permissions.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import { ClientError, describeZodError, toErrorReply } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { HubMetrics } from '../metrics.ts';
import type { TopicRelay } from '../topics/topic-relay.ts';
import { errFrame, okFrame, pongFrame, resetFrame } from './frames-out.ts';
import { TokenBucket } from './rate-limiter.ts';
import { readHandshake, refuseUpgrade, shuttingDown, UpgradeRefusal, upgradeAuthenticated } from './upgrade.ts';
import { routeTableOf } from './route-table.ts';
import type { SessionGuard } from './session-guard.ts';
import { IdentityLimits } from './identity-limits.ts';

/** The stated limits of `/ws`; see docs/protocol.md. */
export interface WsLimits {
  /** larger client frames close the socket with 1009 */
  readonly maxFrameBytes: number;
  /** uWS cuts the TCP connection (1006) while reading a frame above this */
  readonly hardFrameCapBytes: number;
  /** sustained client frames per second, and the burst allowed above it */
  readonly framesPerSecond: number;
  readonly burst: number;
  /** frames rejected in a row as `rate_limited` before the socket is closed with 4429 */
  readonly floodStrikes: number;
  /** bytes buffered for a client on two consecutive sweeps before it is closed with 4408 */
  readonly slowConsumerBytes: number;
  /** uWS's own hard bound: a socket past it is closed rather than silently skipped by publish */
  readonly maxBackpressureBytes: number;
  readonly sweepMs: number;
  readonly maxTopicsPerConnection: number;
  readonly idleTimeoutSeconds: number;
  /** per attendee identity: sockets, commands per second and burst, cool-down after a refusal (see identity-limits.ts) */
  readonly maxSocketsPerIdentity: number;
  readonly identityCommandsPerSecond: number;
  readonly identityCommandBurst: number;
  readonly refusedCooldownMs: number;
}

export const defaultWsLimits: WsLimits = wsLimits;

/** A topic a connection holds: the relay's acquisition and a generation that cancels superseded `sub`s. */
interface Subscription {
  readonly ready: Promise<void>;
  gen: number;
}

/** Per-socket state, kept in uWS user data (typed, never monkey-patched onto the socket). */
export interface Connection {
  readonly id: number;
  readonly claims: Claims;
  readonly topics: Map<string, Subscription>;
  readonly bucket: TokenBucket;
  strikes: number;
  sweepsOverBound: number;
  open: boolean;
  /** unregisters the socket from the session guard (expiry, revocation) */
  leave?: () => void;
  /** counted in its identity's open sockets (released on close) */
  counted?: boolean;
}

/**
 * The slice of a uWS WebSocket the endpoint uses. A uWS socket is one; so is a socket a worker thread hosts
 * (workers/remote-socket.ts), whose sends, subscriptions and closes travel to that thread in order.
 */
export interface WsSocket<UserData> {
  getUserData(): UserData;
  send(message: string, isBinary?: boolean, compress?: boolean): number;
  end(code?: number, shortMessage?: string): void;
  cork(cb: () => void): unknown;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  isSubscribed(topic: string): boolean;
  getBufferedAmount(): number;
}

type Ws = WsSocket<Connection>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const noop = () => {};

/**
 * `WS /ws`: authentication before the upgrade, zod-validated frames, per-connection rate limit, backpressure
 * policing, topic subscriptions through the relay, and commands through the router.
 */
export class WsEndpoint {
  readonly #sockets = new Set<Ws>();
  #nextId = 1;
  #accepting = true;
  #sweep: NodeJS.Timeout | undefined;
  readonly #identities: IdentityLimits;

  constructor(
    private readonly deps: {
      verifier: TokenVerifier;
      relay: TopicRelay;
      router: CommandRouter;
      metrics: HubMetrics;
      log: Logger;
      limits: WsLimits;
      /** resolves `linked` permission rules (a sponsor on its exhibitors' leads); without it they are refused */
      links?: SponsorLinks;
      /** ends sockets whose token expires or is revoked */
      sessions?: SessionGuard;
      /**
       * Socket workers (HUB_WORKERS > 1) decide upgrades from a mirror of the revocation list; this is the
       * authoritative look when the socket opens here.
       */
      revoked?: (claims: Claims) => boolean;
    },
  ) {
    this.#identities = new IdentityLimits(deps.limits);
  }

  get connectionCount(): number {
    return this.#sockets.size;
  }

  attach(app: TemplatedApp): void {
    const { limits } = this.deps;
    routeTableOf(app).add('get', '/ws');
    app.ws<Connection>('/ws', {
      // uWS drops an over-long frame by cutting the TCP connection (the client sees 1006), so it only enforces a
      // generous hard cap; the stated limit is checked below, where the hub can close with a proper 1009.
      maxPayloadLength: Math.max(limits.maxFrameBytes, limits.hardFrameCapBytes),
      maxBackpressure: limits.maxBackpressureBytes,
      closeOnBackpressureLimit: 1,
      idleTimeout: limits.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => this.#open(ws),
      message: (ws, message, isBinary) => this.#message(ws, message, isBinary),
      close: (ws, code) => this.#close(ws, code),
    });
    this.#sweep = setInterval(() => this.#policeBackpressure(), limits.sweepMs);
    this.#sweep.unref();
  }

  /** The per-socket state of a socket upgraded for `claims` (here, or in a socket worker). */
  connectionFor(claims: Claims): Connection {
    return {
      id: this.#nextId++,
      claims,
      topics: new Map(),
      bucket: new TokenBucket(this.deps.limits.framesPerSecond, this.deps.limits.burst),
      strikes: 0,
      sweepsOverBound: 0,
      open: true,
    };
  }

  /**
   * A socket a worker thread upgraded (it checked the token and the revocation list from its mirror, and counted the
   * socket against its identity's cap in memory all workers share) opened: admitted exactly as a local socket's `open`, after the authoritative checks of the moment.
   */
  openRemote(ws: Ws): void {
    const conn = ws.getUserData();
    const refuse = (code: number, reason: string) => {
      conn.open = false;
      ws.end(code, reason);
    };
    if (!this.#accepting) return refuse(CloseCode.shutdown, 'hub shutting down');
    if (this.deps.revoked?.(conn.claims)) return refuse(CloseCode.unauthorized, 'token revoked');
    // The worker decided the socket cap (its count and this one see closes in different orders across workers).
    this.#open(ws, true);
  }

  /**
   * A frame from a worker-hosted socket (the worker copied it out of uWS). `receivedAt` is when the worker read it
   * (this thread's `performance.now()` scale): the rate limit measures arrival at the socket, as on one thread, not
   * when the frame's batch reached this thread.
   */
  messageRemote(ws: Ws, message: ArrayBuffer, isBinary: boolean, receivedAt: number): void {
    this.#message(ws, message, isBinary, receivedAt);
  }

  /** A worker-hosted socket closed. */
  closeRemote(ws: Ws, code: number): void {
    this.#close(ws, code);
  }

  /** A socket worker refused an upgrade (counted as the upgrade handler here counts its refusals). */
  refusedInWorker(code: string): void {
    this.deps.metrics.rejectedFrames.inc({ code });
  }

  /** Stops new upgrades and closes every socket with 1012 so clients reconnect elsewhere. */
  closeAll(): void {
    this.#accepting = false;
    clearInterval(this.#sweep);
    for (const ws of [...this.#sockets]) ws.end(CloseCode.shutdown, 'hub shutting down');
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    if (!this.#accepting) return refuseUpgrade(res, shuttingDown);
    upgradeAuthenticated(res, context, readHandshake(req), this.deps.verifier, (claims): Connection | UpgradeRefusal => {
      if (!this.#accepting) return shuttingDown;
      if (!this.#identities.mayOpen(claims)) {
        this.deps.metrics.rejectedFrames.inc({ code: 'identity_sockets' });
        return new UpgradeRefusal('429 Too Many Requests', 'rate_limited', `at most ${this.deps.limits.maxSocketsPerIdentity} sockets per attendee`);
      }
      return this.connectionFor(claims);
    });
  }

  #open(ws: Ws, capDecided = false): void {
    const conn = ws.getUserData();
    // Checked before the upgrade too; this closes the race of many upgrades of one identity at once.
    if (!this.#identities.opened(conn.claims, capDecided)) {
      conn.open = false;
      return void ws.end(CloseCode.flood, `at most ${this.deps.limits.maxSocketsPerIdentity} sockets per attendee`);
    }
    conn.counted = true;
    this.#sockets.add(ws);
    conn.leave = this.deps.sessions?.enter(conn.claims, (code, reason) => {
      if (conn.open) ws.end(code, reason);
    });
    this.deps.metrics.connections.inc({ endpoint: 'ws' });
  }

  #message(ws: Ws, message: ArrayBuffer, isBinary: boolean, receivedAt = performance.now()): void {
    const conn = ws.getUserData();
    const { metrics, limits } = this.deps;
    metrics.framesIn.inc();
    if (message.byteLength > limits.maxFrameBytes) {
      metrics.rejectedFrames.inc({ code: 'too_big' });
      ws.end(CloseCode.tooBig, `frame larger than ${limits.maxFrameBytes} bytes`);
      return;
    }
    if (!conn.bucket.take(receivedAt)) {
      if (++conn.strikes >= limits.floodStrikes) {
        ws.end(CloseCode.flood, 'rate limit ignored');
        return;
      }
      return this.#reject(ws, undefined, 'rate_limited', `more than ${limits.framesPerSecond} frames per second`);
    }
    conn.strikes = 0;
    if (isBinary) return this.#reject(ws, undefined, 'invalid', 'binary frames are not accepted: send JSON text');
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(message));
    } catch {
      return this.#reject(ws, undefined, 'invalid', 'frame is not valid UTF-8 JSON');
    }
    const parsed = ClientFrame.safeParse(json);
    if (!parsed.success) return this.#reject(ws, idOf(json), 'invalid', describeFrameError(json, parsed.error));
    const frame = parsed.data;
    switch (frame.op) {
      case 'ping':
        return void this.#send(ws, pongFrame);
      case 'sub':
        return void this.#subscribe(ws, conn, frame.topic, frame.since, frame.id, frame.epoch);
      case 'unsub':
        return this.#unsubscribe(ws, conn, frame.topic, frame.id);
      case 'cmd':
        return void this.#command(ws, conn, frame);
    }
  }

  async #subscribe(ws: Ws, conn: Connection, name: string, since: number | undefined, id: string | number | undefined, epoch?: string): Promise<void> {
    const topic = parseTopic(name);
    if (!topic) return this.#reject(ws, id, 'invalid', `unknown topic "${name}"`);
    const access = subscribeAccess(conn.claims, topic, this.deps.links);
    const refusal = `role "${conn.claims.role}" may not subscribe to "${name}"`;
    if (access === false) return this.#reject(ws, id, 'forbidden', refusal);
    const { relay } = this.deps;
    let sub = conn.topics.get(name);
    if (!sub) {
      if (conn.topics.size >= this.deps.limits.maxTopicsPerConnection) {
        return this.#reject(ws, id, 'invalid', `at most ${this.deps.limits.maxTopicsPerConnection} topics per connection`);
      }
      // A Store lookup (a `linked` rule) is awaited inside `ready`: the subscription is registered now, so an `unsub`
      // that follows at once still finds and cancels it.
      const ready = access === true ? relay.acquire(name) : access.then((ok) => (ok ? relay.acquire(name) : Promise.reject(new ClientError('forbidden', refusal))));
      sub = { ready, gen: 0 };
      sub.ready.catch(noop);
      conn.topics.set(name, sub);
    } else if (ws.isSubscribed(name)) {
      // A repeated sub with `since` replays from there: leave the live fan-out while catching up.
      ws.unsubscribe(name);
    }
    const gen = ++sub.gen;
    const current = () => conn.open && conn.topics.get(name) === sub && sub.gen === gen;
    try {
      await sub.ready;
    } catch (error) {
      if (conn.topics.get(name) === sub) conn.topics.delete(name);
      if (conn.open) this.#fail(ws, id, error);
      return;
    }
    let catchUp: Awaited<ReturnType<TopicRelay['catchUp']>> | undefined;
    try {
      if (since !== undefined && epoch !== undefined && epoch !== relay.epoch()) catchUp = { kind: 'reset', head: relay.head(name) };
      else if (since !== undefined) catchUp = await relay.catchUp(name, since);
    } catch (error) {
      if (current()) {
        conn.topics.delete(name);
        relay.release(name);
        this.#fail(ws, id, error);
      }
      return;
    }
    if (!current()) {
      // Superseded by a later sub, or cancelled by an unsub: that frame decides the outcome, but this one is
      // still answered so a client counting replies never waits forever.
      if (conn.open && id !== undefined) this.#send(ws, okFrame(id, { topic: name, superseded: true }));
      return;
    }
    ws.cork(() => {
      if (catchUp?.kind === 'reset') this.#send(ws, resetFrame(name, catchUp.head, relay.epoch()));
      else if (catchUp) for (const frame of catchUp.frames) if (!this.#send(ws, frame)) return;
      if (!conn.open) return;
      ws.subscribe(name);
      if (id !== undefined) ws.send(okFrame(id, { topic: name, seq: catchUp?.head ?? relay.head(name), epoch: relay.epoch() }));
    });
  }

  #unsubscribe(ws: Ws, conn: Connection, name: string, id: string | number | undefined): void {
    if (!parseTopic(name)) return this.#reject(ws, id, 'invalid', `unknown topic "${name}"`);
    const sub = conn.topics.get(name);
    if (sub) {
      conn.topics.delete(name);
      ws.unsubscribe(name);
      sub.ready.then(() => this.deps.relay.release(name), noop);
    }
    if (id !== undefined) this.#send(ws, okFrame(id, { topic: name }));
  }

  async #command(ws: Ws, conn: Connection, frame: CmdFrame): Promise<void> {
    // Decided in memory before the command touches the Store: one identity's flood costs nobody else a round trip.
    const refusal = this.#identities.checkCommand(conn.claims);
    if (refusal) return this.#reject(ws, frame.id, 'rate_limited', refusal);
    try {
      const result = await this.deps.router.run(frame.name, frame.args, { claims: conn.claims });
      if (conn.open) ws.cork(() => this.#send(ws, okFrame(frame.id, result)));
    } catch (error) {
      if (error instanceof ClientError && error.code === 'rate_limited') this.#identities.refused(conn.claims);
      if (conn.open) ws.cork(() => this.#fail(ws, frame.id, error));
    }
  }

  #close(ws: Ws, code: number): void {
    const conn = ws.getUserData();
    conn.open = false;
    conn.leave?.();
    if (conn.counted) this.#identities.closed(conn.claims);
    if (!this.#sockets.delete(ws)) return;
    for (const [name, sub] of conn.topics) sub.ready.then(() => this.deps.relay.release(name), noop);
    conn.topics.clear();
    this.deps.metrics.connections.dec({ endpoint: 'ws' });
    this.deps.metrics.closes.inc({ code: String(code) });
    // uWS itself cuts a socket that passes the hard bound (1006) when it fills faster than the sweep runs: it was a
    // slow consumer all the same.
    if (code === 1006 && conn.sweepsOverBound > 0) this.deps.metrics.slowConsumers.inc();
  }

  /** Closes sockets whose unread bytes stayed above the bound for two sweeps: one slow client never holds the rest back. */
  #policeBackpressure(): void {
    const bound = this.deps.limits.slowConsumerBytes;
    for (const ws of this.#sockets) {
      const conn = ws.getUserData();
      if (ws.getBufferedAmount() <= bound) {
        conn.sweepsOverBound = 0;
      } else if (++conn.sweepsOverBound >= 2) {
        conn.sweepsOverBound = 0; // counted here, not again by the close handler
        this.deps.metrics.slowConsumers.inc();
        this.deps.log.warn({ connection: conn.id, sub: conn.claims.sub, buffered: ws.getBufferedAmount() }, 'slow consumer disconnected');
        ws.end(CloseCode.slowConsumer, 'slow consumer');
      }
    }
  }

  #fail(ws: Ws, id: string | number | undefined, error: unknown): void {
    const reply = toErrorReply(error);
    if (reply.internal) this.deps.log.error({ err: error }, 'command failed');
    this.#reject(ws, id, reply.code, reply.message);
  }

  #reject(ws: Ws, id: string | number | undefined, code: Parameters<typeof errFrame>[1], message: string): void {
    this.deps.metrics.rejectedFrames.inc({ code });
    this.#send(ws, errFrame(id, code, message));
  }

  /** Sends one frame; false once the socket is gone (closed, or closed by uWS for passing the hard bound). */
  #send(ws: Ws, frame: string): boolean {
    if (!ws.getUserData().open) return false;
    this.deps.metrics.framesOut.inc();
    return ws.send(frame, false, false) !== 2 && ws.getUserData().open;
  }
}

function idOf(json: unknown): string | number | undefined {
  if (json && typeof json === 'object' && 'id' in json) {
    const id = (json as { id: unknown }).id;
    if ((typeof id === 'string' && id.length > 0 && id.length <= 64) || (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0)) return id;
  }
  return undefined;
}

function describeFrameError(json: unknown, error: Parameters<typeof describeZodError>[0]): string {
  const op = json && typeof json === 'object' ? (json as { op?: unknown }).op : undefined;
  if (typeof op !== 'string' || !['sub', 'unsub', 'cmd', 'ping'].includes(op)) {
    return 'expected a JSON object with "op" one of sub, unsub, cmd, ping';
  }
  return describeZodError(error);
}
