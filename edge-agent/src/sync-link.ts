/**
 * An outgoing connection that keeps itself up: dial, sync, and on any loss dial again with exponential backoff and
 * jitter. Used for the hub and for every `--peer`; to the link the hub is just another y-websocket server.
 */
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import type { SyncReplica } from '@opshub/replica';
import { DEVICE_HEADER } from './mesh-handshake.ts';
import type { ReplicaRelay } from './replica-relay.ts';
import { SyncSession, type SessionHooks, type SessionKind, type SessionOptions } from './sync-session.ts';

/** What a link dials with when each attempt needs fresh parameters (a mesh proof over the peer's new challenge). */
export interface PreparedDial {
  url: string;
  /** checks the upgrade answer's headers; an error message refuses the connection before any sync */
  checkAnswer?: (headers: IncomingHttpHeaders) => string | undefined;
}

export type LinkState = 'connecting' | 'online' | 'offline' | 'rejected' | 'closed';

export interface SyncLinkOptions {
  /** Full URL, doc path and query included (without `prepare`), or the URL to show in logs (with it). */
  url: string;
  /** Called before every attempt for the URL to dial (fails like a refused dial when it throws). */
  prepare?: () => Promise<PreparedDial>;
  kind: SessionKind;
  replica: Required<SyncReplica>;
  relay: ReplicaRelay;
  hooks?: SessionHooks;
  admit?: SessionOptions['admit'];
  /** First retry delay (default 250 ms), doubled per failed attempt up to `maxBackoffMs` (default 10 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Largest frame accepted (a first sync of a big roster is one frame). */
  maxPayload?: number;
  onStateChange?: (link: SyncLink) => void;
  /** the other side refused us (close 4401 or 4403), with its reason; called before the retry is scheduled */
  onRefused?: (link: SyncLink, code: number, reason: string) => void;
}

const HEARTBEAT_MS = 10_000;
/** No pong for this long and the socket is considered dead (a pulled cable gives no close). */
const DEAD_AFTER_MS = 25_000;

export class SyncLink {
  state: LinkState = 'offline';
  /** Why the last attempt failed, for /status and logs. */
  lastError: string | undefined;
  session: SyncSession | undefined;
  private socket: WebSocket | undefined;
  private attempts = 0;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The server refused our token: keep trying (it may be fixed), but only at the slowest pace. */
  private rejected = false;

  constructor(private readonly options: SyncLinkOptions) {}

  /** Starts dialling; never throws, failures become retries. */
  start(): void {
    this.stopped = false;
    this.dial();
  }

  /** Dials now instead of waiting out the backoff (something that blocked the last attempt changed). */
  kick(): void {
    if (this.stopped || this.socket || this.state === 'connecting') return;
    clearTimeout(this.retry);
    this.attempts = 0;
    this.rejected = false;
    this.dial();
  }

  /** The URL without its query (the token stays out of logs). */
  get label(): string {
    return this.options.url.split('?')[0]!;
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const socket = this.socket;
    this.setState('closed');
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1001, 'agent shutting down');
    // A peer that vanished never answers the close handshake.
    const timer = setTimeout(() => socket.terminate(), 1000);
    await closed;
    clearTimeout(timer);
  }

  private dial(): void {
    if (this.stopped) return;
    this.setState('connecting');
    if (!this.options.prepare) return this.open({ url: this.options.url });
    this.options.prepare().then(
      (prepared) => {
        if (!this.stopped) this.open(prepared);
      },
      (error: unknown) => {
        this.lastError = error instanceof Error ? error.message : String(error);
        if (this.stopped) return;
        this.setState('offline');
        this.scheduleRetry();
      },
    );
  }

  private open(prepared: PreparedDial): void {
    const socket = new WebSocket(prepared.url, { handshakeTimeout: 5000, maxPayload: this.options.maxPayload ?? 256 * 1024 * 1024 });
    this.socket = socket;
    let remoteDevice: string | undefined;
    let alive = Date.now();
    let refusedAnswer: string | undefined;
    socket.on('upgrade', (response) => {
      const header = response.headers[DEVICE_HEADER];
      remoteDevice = typeof header === 'string' ? header : undefined;
      refusedAnswer = prepared.checkAnswer?.(response.headers);
    });
    socket.on('unexpected-response', (request, response) => {
      // The server refused before upgrading (401/403: our token; 404: wrong event). Not worth hammering quickly.
      this.lastError = `HTTP ${response.statusCode}`;
      if (response.statusCode === 401 || response.statusCode === 403) this.rejected = true;
      request.destroy();
      socket.terminate();
    });
    socket.on('error', (error) => {
      this.lastError = error.message;
    });
    socket.on('pong', () => {
      alive = Date.now();
    });
    socket.on('open', () => {
      if (refusedAnswer !== undefined) {
        // The other end did not prove it belongs to the mesh: not one byte of the doc goes to it.
        this.lastError = refusedAnswer;
        this.rejected = true;
        return socket.terminate();
      }
      const session = new SyncSession(socket, this.options.replica, {
        kind: this.options.kind,
        ...(remoteDevice !== undefined && { remoteDevice }),
        ...(this.options.admit && { admit: this.options.admit }),
        hooks: {
          ...this.options.hooks,
          onFrame: (s) => {
            alive = Date.now();
            this.options.hooks?.onFrame?.(s);
          },
          onSynced: (s) => {
            this.attempts = 0;
            this.rejected = false;
            this.lastError = undefined;
            this.setState('online');
            this.options.hooks?.onSynced?.(s);
          },
        },
      });
      this.session = session;
      this.options.relay.add(session);
      session.start();
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => {
        if (Date.now() - alive > DEAD_AFTER_MS) socket.terminate();
        else socket.ping();
      }, HEARTBEAT_MS);
    });
    socket.on('close', (code, reason) => {
      clearInterval(this.heartbeat);
      if (this.session) this.options.relay.remove(this.session);
      this.session = undefined;
      this.socket = undefined;
      if (code === 4401 || code === 4403) {
        this.lastError = `closed ${code} ${reason.toString()}`;
        this.rejected = true;
        if (!this.stopped) this.options.onRefused?.(this, code, reason.toString());
      }
      if (this.stopped) return;
      this.setState(this.rejected ? 'rejected' : 'offline');
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 10_000;
    const delay = this.rejected ? max : Math.min(max, initial * 2 ** Math.min(this.attempts, 20));
    this.attempts++;
    // Jitter, so the gates of a venue do not all hit a returning hub in the same millisecond.
    this.retry = setTimeout(() => this.dial(), delay / 2 + Math.random() * (delay / 2));
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(this);
  }
}
