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
  type SyncMessage,
  unknownGateReason,
} from '@opshub/replica';
import { removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { FullStateAnswers } from '../replicas/full-state-answer.ts';
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
/** Frames a socket may have waiting once its replica is loaded (held for a hub write or a catch-up, or in a burst). */
const MAX_HELD = 4096;
/**
 * How long the frames of `/yjs` sockets are handled in one turn of the event loop before the rest wait for the next
 * turn (ms). Why: one read of a gate's socket during a burst brings hundreds of scans, and handling them all at once
 * held every other socket, a control client's ping included, for hundreds of ms (issue #19); in between, the other
 * sockets are read, and the waiting frames are applied and relayed in batches (one transaction and one relayed
 * update per socket per turn instead of one per scan).
 */
const TURN_MS = 8;

/** Per-socket state in uWS user data. */
interface YjsConnection extends SocketOrigin {
  readonly claims: Claims;
  readonly event: string;
  readonly topic: string;
  /** why the socket is refused after the upgrade (role or event not allowed), closed with 4403 on open */
  readonly refusal: string | undefined;
  replica: GateReplica | undefined;
  /** frames received and not handled yet, in order */
  inbox: Uint8Array[];
  /** the inbox waits: the replica is loading, or a hub write is being stored, or a catch-up with the Store runs */
  waiting: boolean;
  /** the socket is in the endpoint's ready queue (its inbox waits for the next turn) */
  ready: boolean;
  /** the hub refused the socket: its remaining frames are dropped */
  refused: boolean;
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
type DocUpdateMessage = Extract<SyncMessage, { kind: 'sync-step2' | 'sync-update' }>;

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
  /** the encoded doc for gates that ask for everything, kept per doc (see full-state-answer.ts) */
  readonly #fullState = new FullStateAnswers();
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
      relayWaits: () => this.#turn.ready.length > 0,
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
        inbox: [],
        waiting: true,
        ready: false,
        refused: false,
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
        ws.cork(() => {
          ws.subscribe(conn.topic);
          for (const frame of openingFrames(replica)) ws.send(frame, true);
        });
        conn.waiting = false;
        this.#handleInbox(conn, performance.now() + TURN_MS);
        if (conn.inbox.length > 0 && !conn.waiting) this.#markReady(conn);
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
    // Handled on the next turn (right after this read of every socket), with whatever else this socket sent in it.
    if (conn.inbox.length >= (conn.replica ? MAX_HELD : MAX_QUEUED)) {
      return this.#refuse(conn, CloseCode.tooBig, conn.replica ? 'too many frames waiting' : 'too many frames before the first sync');
    }
    conn.inbox.push(frame);
    if (!conn.waiting) this.#markReady(conn);
  }

  /** The frames of `/yjs` sockets are handled by turns: the sockets whose frames wait for the next one. */
  readonly #turn: { next: NodeJS.Immediate | undefined; ready: YjsConnection[] } = { next: undefined, ready: [] };

  #markReady(conn: YjsConnection): void {
    if (conn.ready) return;
    conn.ready = true;
    this.#turn.ready.push(conn);
    this.#nextTurn();
  }

  #nextTurn(): void {
    this.#turn.next ??= setImmediate(() => this.#runTurn());
  }

  /**
   * A turn (the check phase after the event loop read the sockets): the sockets whose frames wait, round robin, for
   * {@link TURN_MS} at most. What is left waits for the next turn, after the event loop has read the sockets again
   * (and answered pings). Frames that came in one read of a socket are applied and relayed as one update.
   */
  #runTurn(): void {
    const turn = this.#turn;
    turn.next = undefined;
    const deadline = performance.now() + TURN_MS;
    while (turn.ready.length > 0 && performance.now() < deadline) {
      const conn = turn.ready.shift()!;
      conn.ready = false;
      this.#handleInbox(conn, deadline);
      if (conn.inbox.length > 0 && !conn.waiting && !conn.refused && conn.open) {
        conn.ready = true;
        turn.ready.push(conn);
      }
    }
    if (turn.ready.length > 0) this.#nextTurn();
  }

  /** Holds this socket's frames, in order, until `wait` settles (a hub write being stored, or a catch-up with the Store). */
  #hold(conn: YjsConnection, wait: Promise<unknown>): void {
    conn.waiting = true;
    void wait.catch(() => {}).then(() => {
      conn.waiting = false;
      if (conn.open && conn.inbox.length > 0) this.#markReady(conn);
    });
  }

  /** Closes a socket the hub refuses; nothing it sent after the refused frame is handled. */
  #refuse(conn: YjsConnection, code: number, reason: string): void {
    conn.refused = true;
    conn.inbox.length = 0;
    if (conn.open && conn.ws) conn.ws.end(code, reason.slice(0, 120));
  }

  /**
   * Handles this socket's waiting frames in order until `deadline`, or until one has to wait. A run of doc updates is
   * checked and applied in one Yjs transaction, so it is stored, sent to the other hubs and relayed to the other
   * sockets as one update; a lone update with scans is relayed before it is applied (see #applyUpdates).
   */
  #handleInbox(conn: YjsConnection, deadline: number): void {
    const replica = conn.replica;
    if (!replica) return;
    while (conn.inbox.length > 0 && !conn.waiting && !conn.refused) {
      // A hub write is being stored: no answer may hand it out before it is durable (see hub-doc-writer.ts).
      if (replica.barrier) return this.#hold(conn, replica.barrier);
      const message = this.#decode(conn, conn.inbox[0]!);
      if (!message) return;
      if (isDocUpdate(message)) this.#applyUpdates(conn, replica, message, deadline);
      else {
        conn.inbox.shift();
        this.#handleOther(conn, replica, message);
      }
      if (performance.now() >= deadline) return;
    }
  }

  /** The frame as a message; undefined (and the socket closed) when it is malformed. */
  #decode(conn: YjsConnection, frame: Uint8Array): SyncMessage | undefined {
    try {
      // Updates are not decoded here: checkGateUpdate decodes each one anyway and answers `malformed` (a 2,000-scan
      // update from a gate back online takes 10–20 ms per decode).
      return decodeMessage(frame, { verifyUpdates: false });
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.deps.metrics.rejectedFrames.inc({ code: 'yjs_malformed' });
      this.#refuse(conn, CloseCode.invalidPayload, 'malformed y-websocket message');
      return undefined;
    }
  }

  /**
   * Checks and applies the doc updates at the head of the inbox (`first` is the decoded head) in one transaction,
   * until a frame of another kind, one that must wait, or `deadline`. Each update is checked against the doc as the
   * ones before it left it (a gate's chain of scans), by the gate guard of issue #11; a refused one closes the socket
   * and the ones before it stay applied, as when they came one per turn.
   */
  #applyUpdates(conn: YjsConnection, replica: GateReplica, first: DocUpdateMessage, deadline: number): void {
    const ws = conn.ws;
    let wait: Promise<unknown> | undefined;
    let resync = false;
    const now = Date.now();
    // Readers' scans are refused below whatever they hold; a gate's must be its own or a verified relay.
    const screen = (scan: ScanRecord) => screenScan(scan, now) ?? (conn.role === 'gate' ? screenWriter(scan, conn.claims.gate, (gate) => replica.scanKeyOf(gate)) : undefined);
    const lone = conn.inbox.length === 1;
    try {
      Y.transact(
        replica.doc,
        () => {
          let message: SyncMessage | undefined = first;
          while (message && isDocUpdate(message)) {
            const frame = conn.inbox[0]!;
            const check = checkGateUpdate(replica.doc, message.update, { screen });
            if (!check.ok) {
              if (check.reason === 'forbidden' && conn.recheck !== frame) {
                // Perhaps another hub's roster or directive write, relayed by the mesh faster than the bus: hub writes
                // are stored before anyone sees them, so after catching up with the Store it is known, and skipped.
                conn.recheck = frame;
                wait = this.deps.host.catchUp(conn.event);
                return;
              }
              conn.recheck = undefined;
              if (check.reason === 'unresolved') {
                // Depends on structs we lack: drop it and ask for everything the gate has; its step 2 brings them.
                conn.inbox.shift();
                resync = true;
              } else {
                this.deps.metrics.rejectedFrames.inc({ code: `yjs_${check.reason}` });
                this.deps.log.warn({ event: conn.event, sub: conn.sub, reason: check.reason, message: check.message }, 'gate update rejected');
                return this.#refuse(conn, check.reason === 'forbidden' ? CloseCode.forbidden : CloseCode.invalidPayload, check.message);
              }
            } else {
              conn.recheck = undefined;
              if (check.scans.length > 0 && conn.role !== 'gate') return this.#refuse(conn, CloseCode.forbidden, `role "${conn.role}" may not write scans`);
              // A lone update is relayed now and applied after: the other gates do not wait for this hub to integrate
              // 2,000 scans from a gate back online. Only when the doc holds no pending structs (possible from another
              // hub's out-of-order signal): applying could then integrate those too, and only the update Yjs emits
              // carries them. A run of updates is relayed as the one update its transaction emits.
              if (lone && ws && conn.open && check.scans.length > 0 && !hasPendingStructs(replica.doc)) {
                ws.publish(conn.topic, encodeMessage({ kind: 'sync-update', update: message.update }), true);
                conn.relayedAhead = true;
              }
              conn.inbox.shift();
              respond(message, replica, conn);
              if (conn.role === 'gate' && conn.open) this.#confirmations.received(this.#targetOf(conn), message.update);
            }
            if (conn.inbox.length === 0 || performance.now() >= deadline) return;
            message = this.#decode(conn, conn.inbox[0]!);
          }
        },
        conn,
      );
    } finally {
      // The transaction's update event (the relay to the others) has fired by now.
      conn.relayedAhead = false;
    }
    if (resync && ws && conn.open && !conn.refused) for (const reply of openingFrames({ doc: replica.doc })) ws.send(reply, true);
    if (wait) this.#hold(conn, wait);
  }

  /** Sync step 1, awareness and the rest: applied, answered. */
  #handleOther(conn: YjsConnection, replica: GateReplica, message: SyncMessage): void {
    if (message.kind === 'awareness') {
      for (const { clientId, state } of readAwarenessEntries(message.update)) {
        if (state === null) conn.awarenessClients.delete(clientId);
        else conn.awarenessClients.add(clientId);
      }
    }
    const replies =
      message.kind === 'sync-step1' && FullStateAnswers.asksForEverything(message.stateVector) ? this.#fullState.answer(replica.doc) : respond(message, replica, conn);
    const ws = conn.ws;
    if (replies.length > 0 && ws && conn.open) ws.cork(() => replies.forEach((reply) => ws.send(reply, true)));
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
      // What the gate sent before it closed and waited for its turn is still its to write (nothing is answered).
      if (!conn.waiting) this.#handleInbox(conn, Infinity);
      conn.inbox.length = 0;
      if (conn.awarenessClients.size > 0) removeAwarenessStates(conn.replica.awareness, [...conn.awarenessClients], conn);
      this.deps.host.release(conn.event);
    }
    // A socket that closed while its replica was loading is released by the open handler (it sees open === false).
  }

  #targetOf(conn: YjsConnection): ConfirmTarget {
    const ws = conn.ws!;
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
