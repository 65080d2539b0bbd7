import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import { hasEvent, CloseCode, type Claims } from '@opshub/schema';
import {
  checkGateUpdate,
  decodeMessage,
  encodeMessage,
  isDocUpdate,
  MalformedMessageError,
  openingFrames,
  parseGateDocName,
  readAwarenessEntries,
  respond,
  type ScanRecord,
  unknownGateReason,
} from '@opshub/replica';
import { removeAwarenessStates } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { Logger } from '../log.ts';
import type { HubMetrics } from '../metrics.ts';
import type { GateReplica } from '../replicas/gate-replica.ts';
import { isSocketOrigin, type SocketOrigin } from '../replicas/origins.ts';
import type { ReplicaHost } from '../replicas/replica-host.ts';
import { screenScan, screenWriter } from '../replicas/scan-screen.ts';
import { readHandshake, refuseUpgrade, shuttingDown, UpgradeRefusal, upgradeAuthenticated } from './upgrade.ts';
import { routeTableOf } from './route-table.ts';
import type { SessionGuard } from './session-guard.ts';
import { StoredConfirmations, type ConfirmTarget } from './stored-confirmations.ts';

/** Roles that may open a gate doc; only `gate` may write to it, and only new scans. */
const READERS = new Set(['gate', 'staff', 'admin']);
/** A first sync of a 100,000-ticket roster is one frame of ~10 MB. */
const MAX_FRAME = 64 * 1024 * 1024;
/** Frames a socket may send before its replica has loaded. */
const MAX_QUEUED = 256;
/** Frames a socket may send while they are held (a hub write being stored, a catch-up with the Store). */
const MAX_HELD = 4096;

/** Per-socket state in uWS user data. */
interface YjsConnection extends SocketOrigin {
  readonly claims: Claims;
  readonly event: string;
  readonly topic: string;
  /** why the socket is refused after the upgrade (role or event not allowed), closed with 4403 on open */
  readonly refusal: string | undefined;
  replica: GateReplica | undefined;
  queued: Uint8Array[] | undefined;
  readonly awarenessClients: Set<number>;
  open: boolean;
  /** the socket itself, set on open, so a change can be fanned out from it (excluding it) without a lookup */
  ws: Ws | undefined;
  /** set while applying an update this socket sent that was already relayed to the others (see #handle) */
  relayedAhead: boolean;
  /** unregisters the socket from the session guard (expiry, revocation) */
  leave?: () => void;
  /** the frame that was refused once and is being checked again after catching up with the Store */
  recheck: Uint8Array | undefined;
}

type Ws = WebSocket<YjsConnection>;

/**
 * `WS /yjs/{doc}`: the y-websocket protocol on uWebSockets.js, so an unmodified `WebsocketProvider` can connect.
 * The replica is loaded before the first sync answer; gate sockets may append scans and nothing else (anything else
 * closes the socket with 4403, a malformed frame with 1007, and the doc stays as it was). Fan-out to the other
 * sockets of a doc uses a uWS topic per doc; `ws.publish` skips the socket a change came from.
 */
export class YjsEndpoint {
  readonly #sockets = new Set<Ws>();
  #nextId = 1;
  #accepting = true;
  #app: TemplatedApp | undefined;
  /** gate sockets, as the confirmations of what the hub stored see them */
  readonly #targets = new Map<Ws, ConfirmTarget>();
  readonly #confirmations = new StoredConfirmations({ storedState: (event) => this.deps.host.storedState(event) });

  constructor(private readonly deps: { verifier: TokenVerifier; host: ReplicaHost; metrics: HubMetrics; log: Logger; sessions?: SessionGuard }) {}

  attach(app: TemplatedApp): void {
    this.#app = app;
    routeTableOf(app).add('get', '/yjs/*');
    app.ws<YjsConnection>('/yjs/*', {
      maxPayloadLength: MAX_FRAME,
      maxBackpressure: MAX_FRAME,
      closeOnBackpressureLimit: 1,
      idleTimeout: 60,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => this.#open(ws),
      message: (ws, message, isBinary) => this.#message(ws, message, isBinary),
      close: (ws, code) => this.#close(ws, code),
    });
    this.deps.host.listen({
      docUpdate: (replica, update, origin) => this.#fanOut(replica, encodeMessage({ kind: 'sync-update', update }), origin),
      awarenessUpdate: (replica, update, _changed, origin) => this.#fanOut(replica, encodeMessage({ kind: 'awareness', update }), origin),
      durable: (replica, stateVector, takenAt) => this.#confirmations.durable(replica, stateVector, takenAt, this.#targets.values()),
    });
  }

  closeAll(): void {
    this.#accepting = false;
    for (const ws of [...this.#sockets]) ws.end(CloseCode.shutdown, 'hub shutting down');
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const docName = safeDecode(req.getUrl().slice('/yjs/'.length));
    const handshake = readHandshake(req);
    if (!this.#accepting) return refuseUpgrade(res, shuttingDown);
    const event = docName === undefined ? undefined : parseGateDocName(docName);
    if (!event) return refuseUpgrade(res, new UpgradeRefusal('404 Not Found', 'not_found', `no such document "${docName ?? ''}": gate docs are event/{e}/gate`));
    upgradeAuthenticated(res, context, handshake, this.deps.verifier, (claims): YjsConnection => {
      const refusal = !hasEvent(claims, event)
        ? `the token does not grant event "${event}"`
        : !READERS.has(claims.role)
          ? `role "${claims.role}" may not open gate documents`
          : undefined;
      return {
        kind: 'socket',
        id: this.#nextId++,
        role: claims.role,
        sub: claims.sub,
        gate: claims.gate,
        claims,
        event,
        topic: `yjs/${docName}`,
        refusal,
        replica: undefined,
        queued: [],
        awarenessClients: new Set(),
        open: true,
        ws: undefined,
        relayedAhead: false,
        recheck: undefined,
      };
    });
  }

  #open(ws: Ws): void {
    const conn = ws.getUserData();
    if (conn.refusal) {
      conn.open = false;
      ws.end(CloseCode.forbidden, conn.refusal);
      return;
    }
    conn.ws = ws;
    this.#sockets.add(ws);
    conn.leave = this.deps.sessions?.enter(conn.claims, (code, reason) => {
      if (conn.open) ws.end(code, reason);
    });
    this.deps.metrics.connections.inc({ endpoint: 'yjs' });
    this.deps.host.acquire(conn.event).then(
      (replica) => {
        if (!conn.open) return this.deps.host.release(conn.event);
        // A gate token for a gate the event does not have: refused by name, not shown as "g9 → ?" in the gates table.
        const tokenGate = conn.role === 'gate' ? conn.claims.gate : undefined;
        const gates = replica.meta?.gates;
        if (tokenGate !== undefined && gates && !gates.some((g) => g.id === tokenGate)) {
          conn.open = false;
          this.deps.host.release(conn.event);
          // Worded by unknownGateReason: the agent recognises it and exits naming the gate instead of retrying.
          return void ws.end(CloseCode.forbidden, unknownGateReason(tokenGate, conn.event).slice(0, 120));
        }
        conn.replica = replica;
        const queued = conn.queued ?? [];
        conn.queued = undefined;
        ws.cork(() => {
          ws.subscribe(conn.topic);
          for (const frame of openingFrames(replica)) ws.send(frame, true);
        });
        this.#drain(ws, conn, replica, queued);
      },
      (error: unknown) => {
        this.deps.log.error({ err: error, event: conn.event }, 'replica failed to load');
        if (conn.open) ws.end(1011, 'replica unavailable');
      },
    );
  }

  #message(ws: Ws, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData();
    if (!conn.open) return;
    this.deps.metrics.framesIn.inc();
    if (!isBinary) return void ws.end(CloseCode.invalidPayload, 'y-websocket frames are binary');
    // uWS reuses the buffer after this callback returns: copy it.
    const frame = new Uint8Array(message.slice(0));
    if (conn.queued) {
      if (conn.queued.length >= (conn.replica ? MAX_HELD : MAX_QUEUED)) return void ws.end(CloseCode.tooBig, 'too many frames before the first sync');
      conn.queued.push(frame);
      return;
    }
    this.#handle(ws, conn, conn.replica!, frame);
  }

  /**
   * Holds this socket's frames, in order, until `wait` settles (a hub write being stored, or a catch-up with the
   * Store), then handles them.
   */
  #hold(ws: Ws, conn: YjsConnection, replica: GateReplica, wait: Promise<unknown>, frame: Uint8Array): void {
    conn.queued = [frame];
    void wait.catch(() => {}).then(() => {
      const frames = conn.queued ?? [];
      conn.queued = undefined;
      this.#drain(ws, conn, replica, frames);
    });
  }

  /** Handles frames in order; stops (and keeps the rest, in order) when one of them has to wait. */
  #drain(ws: Ws, conn: YjsConnection, replica: GateReplica, frames: Uint8Array[]): void {
    for (let i = 0; i < frames.length; i++) {
      if (!conn.open) return;
      this.#handle(ws, conn, replica, frames[i]!);
      if (conn.queued) {
        conn.queued.push(...frames.slice(i + 1));
        return;
      }
    }
  }

  #handle(ws: Ws, conn: YjsConnection, replica: GateReplica, frame: Uint8Array): void {
    // A hub write is being stored: no answer may hand it out before it is durable (see hub-doc-writer.ts).
    if (replica.barrier) return this.#hold(ws, conn, replica, replica.barrier, frame);
    let message;
    try {
      // Updates are not decoded here: checkGateUpdate decodes each one anyway and answers `malformed` (a 2,000-scan
      // update from a gate back online takes 10–20 ms per decode).
      message = decodeMessage(frame, { verifyUpdates: false });
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.deps.metrics.rejectedFrames.inc({ code: 'yjs_malformed' });
      return void ws.end(CloseCode.invalidPayload, 'malformed y-websocket message');
    }
    if (isDocUpdate(message)) {
      const now = Date.now();
      // Readers' scans are refused below whatever they hold; a gate's must be its own or a verified relay.
      const screen = (scan: ScanRecord) => screenScan(scan, now) ?? (conn.role === 'gate' ? screenWriter(scan, conn.claims.gate, (gate) => replica.scanKeyOf(gate)) : undefined);
      const check = checkGateUpdate(replica.doc, message.update, { screen });
      if (!check.ok) {
        if (check.reason === 'forbidden' && conn.recheck !== frame) {
          // Perhaps another hub's roster or directive write, relayed by the mesh faster than the bus: hub writes are
          // stored before anyone sees them, so after catching up with the Store it is known, and skipped.
          conn.recheck = frame;
          return this.#hold(ws, conn, replica, this.deps.host.catchUp(conn.event), frame);
        }
        conn.recheck = undefined;
        if (check.reason === 'unresolved') {
          // Depends on structs we lack: drop it and ask for everything the gate has; its step 2 brings them.
          for (const reply of openingFrames({ doc: replica.doc })) ws.send(reply, true);
          return;
        }
        this.deps.metrics.rejectedFrames.inc({ code: `yjs_${check.reason}` });
        this.deps.log.warn({ event: conn.event, sub: conn.sub, reason: check.reason, message: check.message }, 'gate update rejected');
        return void ws.end(check.reason === 'forbidden' ? CloseCode.forbidden : CloseCode.invalidPayload, check.message.slice(0, 120));
      }
      conn.recheck = undefined;
      if (check.scans.length > 0 && conn.role !== 'gate') {
        return void ws.end(CloseCode.forbidden, `role "${conn.role}" may not write scans`);
      }
      // Checked, so relay it now and apply it after: the other gates do not wait for this hub to integrate 2,000
      // scans from a gate back online. Only when the doc holds no pending structs (possible from another hub's
      // out-of-order signal): applying could then integrate those too, and only the update Yjs emits carries them.
      if (check.scans.length > 0 && !hasPendingStructs(replica.doc)) {
        ws.publish(conn.topic, encodeMessage({ kind: 'sync-update', update: message.update }), true);
        conn.relayedAhead = true;
      }
    } else if (message.kind === 'awareness') {
      for (const { clientId, state } of readAwarenessEntries(message.update)) {
        if (state === null) conn.awarenessClients.delete(clientId);
        else conn.awarenessClients.add(clientId);
      }
    }
    let replies: Uint8Array[];
    try {
      replies = respond(message, replica, conn);
    } finally {
      conn.relayedAhead = false;
    }
    if (conn.role === 'gate' && isDocUpdate(message)) this.#confirmations.received(this.#targetOf(ws, conn), message.update);
    if (replies.length > 0) ws.cork(() => replies.forEach((reply) => ws.send(reply, true)));
  }

  #close(ws: Ws, code: number): void {
    const conn = ws.getUserData();
    const wasOpen = this.#sockets.delete(ws);
    conn.open = false;
    const target = this.#targets.get(ws);
    if (target) this.#confirmations.forget(target);
    this.#targets.delete(ws);
    conn.leave?.();
    this.deps.metrics.closes.inc({ code: String(code) });
    if (!wasOpen) return;
    this.deps.metrics.connections.dec({ endpoint: 'yjs' });
    if (conn.replica) {
      if (conn.awarenessClients.size > 0) removeAwarenessStates(conn.replica.awareness, [...conn.awarenessClients], conn);
      this.deps.host.release(conn.event);
    }
    // A socket that closed while its replica was loading is released by the open handler (it sees open === false).
  }

  #targetOf(ws: Ws, conn: YjsConnection): ConfirmTarget {
    let target = this.#targets.get(ws);
    if (!target) {
      target = {
        get open() {
          return conn.open;
        },
        event: conn.event,
        get replica() {
          return conn.replica;
        },
        send: (frame) => {
          if (conn.open) ws.send(frame, true);
        },
      };
      this.#targets.set(ws, target);
    }
    return target;
  }

  #fanOut(replica: GateReplica, frame: Uint8Array, origin: unknown): void {
    const topic = `yjs/${replica.docName}`;
    // ws.publish reaches every subscriber but the sender: the gate already has its own change.
    const source = isSocketOrigin(origin) ? (origin as YjsConnection).ws : undefined;
    if (source && (origin as YjsConnection).open) {
      if ((origin as YjsConnection).relayedAhead) return;
      return void source.publish(topic, frame, true);
    }
    this.#app?.publish(topic, frame, true);
  }
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/** True when Yjs holds structs of this doc it could not integrate yet (they wait for missing neighbours). */
function hasPendingStructs(doc: Y.Doc): boolean {
  return doc.store.pendingStructs !== null || doc.store.pendingDs !== null;
}
