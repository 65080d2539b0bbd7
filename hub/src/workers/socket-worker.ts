/**
 * A socket worker thread (HUB_WORKERS > 1): one uWS app on the hub's public port. It hosts `/ws` sockets for the
 * main thread's WsEndpoint (see socket-workers.ts) and forwards everything else to the main thread's loopback
 * listener. It holds no state that decides anything: tokens are checked here only so that a bad one is refused
 * before the upgrade, as on the single-thread path.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { us_listen_socket, WebSocket } from 'uWebSockets.js';
import { CloseCode, type Claims } from '@opshub/schema';
import { AuthError, hs256Verifier, jwksVerifier, type TokenVerifier } from '../auth/token-verifier.ts';
import { loadNativeUws } from '../native-uws.ts';
import { errFrame } from '../transport/frames-out.ts';
import { identityKey, isLimited } from '../transport/identity-limits.ts';
import { TokenBucket } from '../transport/rate-limiter.ts';
import { readHandshake, refuseUpgrade, shuttingDown, UpgradeRefusal, upgradeAuthenticated } from '../transport/upgrade.ts';
import { registerForwarding } from './forward-to-main.ts';
import { RevocationMirror } from './revocation-mirror.ts';
import { SharedSocketCounts } from './shared-socket-counts.ts';
import type { Event, FromWorker, Op, ToWorker, WorkerStart } from './worker-protocol.ts';

interface HostedSocket {
  readonly id: number;
  readonly claims: Claims;
  /** counted against its identity's socket cap (shared by the workers) */
  readonly counted: boolean;
  /** the socket's frame rate, enforced where the socket lives (see `message` below) */
  readonly bucket: TokenBucket;
  /** frames refused as `rate_limited` in a row */
  strikes: number;
}

const port = parentPort!;
const start = (workerData as { start: WorkerStart }).start;
const { limits } = start;
const uws = loadNativeUws();
const app = uws.App();
const sockets = new Map<number, WebSocket<HostedSocket>>();
const socketCounts = new SharedSocketCounts(start.socketCounts);
const revocations = new RevocationMirror();
const verifier = revocationChecked(baseVerifier());
let nextId = 1;
const rateLimited = errFrame(undefined, 'rate_limited', `more than ${limits.framesPerSecond} frames per second`);
let accepting = true;
let listenSocket: us_listen_socket | undefined;

function baseVerifier(): TokenVerifier {
  const { auth } = start;
  return auth.kind === 'hs256' ? hs256Verifier(auth.secret) : jwksVerifier(auth);
}

function revocationChecked(inner: TokenVerifier): TokenVerifier {
  const check = (claims: Claims): Claims => {
    if (revocations.covers(claims)) throw new AuthError('token revoked');
    return claims;
  };
  return {
    verify: async (token) => check(await inner.verify(token)),
    verifyNow: (token) => {
      const claims = inner.verifyNow(token);
      return claims === undefined ? undefined : check(claims);
    },
  };
}

// Events for the main thread leave once per turn of this loop, in the order uWS raised them: after the poll phase
// in which uWS read every ready socket (setImmediate), not per callback (a microtask would flush after each one,
// and a flood of small frames would cost the main thread one message each).
let events: Event[] = [];
let transfer: ArrayBuffer[] = [];
let flushQueued = false;
function emit(event: Event, buffer?: ArrayBuffer): void {
  events.push(event);
  if (buffer) transfer.push(buffer);
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(() => {
    flushQueued = false;
    const message: FromWorker = { t: 'events', events };
    port.postMessage(message, transfer);
    events = [];
    transfer = [];
  });
}

app.ws<HostedSocket>('/ws', {
  // The same limits as the main thread's endpoint: uWS enforces the hard ones here, where the socket lives.
  maxPayloadLength: Math.max(limits.maxFrameBytes, limits.hardFrameCapBytes),
  maxBackpressure: limits.maxBackpressureBytes,
  closeOnBackpressureLimit: 1,
  idleTimeout: limits.idleTimeoutSeconds,
  sendPingsAutomatically: true,
  upgrade: (res, req, context) => {
    if (!accepting) return refuseUpgrade(res, shuttingDown);
    upgradeAuthenticated(res, context, readHandshake(req), verifier, (claims): HostedSocket | UpgradeRefusal => {
      if (!accepting) return shuttingDown;
      // Counted now, in memory every worker shares: the upgrade follows at once (uWS opens the socket within it).
      const counted = isLimited(claims);
      if (counted && !socketCounts.tryOpen(identityKey(claims), limits.maxSocketsPerIdentity)) {
        emit(['refused', 'identity_sockets']);
        return new UpgradeRefusal('429 Too Many Requests', 'rate_limited', `at most ${limits.maxSocketsPerIdentity} sockets per attendee`);
      }
      return { id: nextId++, claims, counted, bucket: new TokenBucket(limits.framesPerSecond, limits.burst), strikes: 0 };
    });
  },
  open: (ws) => {
    const { id, claims } = ws.getUserData();
    sockets.set(id, ws);
    emit(['open', id, claims]);
  },
  message: (ws, message, isBinary) => {
    const socket = ws.getUserData();
    // The frame rate is decided here, with the rule and answer of ws-endpoint.ts, so that a flood is refused on the
    // socket's own thread and never costs the main thread (which serves every worker) a message. The main thread's
    // bucket for the socket starts no earlier and fills at the same rate, so it passes every frame this one passed.
    // An oversized frame goes on regardless: the main thread closes it with 1009 before any rate check.
    if (message.byteLength <= limits.maxFrameBytes && !socket.bucket.take()) {
      emit(['refused', 'rate_limited']);
      if (++socket.strikes >= limits.floodStrikes) return void ws.end(CloseCode.flood, 'rate limit ignored');
      return void ws.send(rateLimited, false, false);
    }
    socket.strikes = 0;
    // uWS frees the message when this returns: the copy travels (transferred, not copied again).
    const copy = message.slice(0);
    emit(['msg', socket.id, copy, isBinary, performance.timeOrigin + performance.now()], copy);
  },
  close: (ws, code) => {
    const { id, claims, counted } = ws.getUserData();
    if (counted) socketCounts.closed(identityKey(claims));
    sockets.delete(id);
    reported.delete(id);
    emit(['close', id, code]);
  },
});

const forwarding = registerForwarding(app, { internalPort: start.internalPort, hopSecret: start.hopSecret, accepting: () => accepting });

/** Carries out the main thread's operations in order; a run of sends to one socket goes out corked together. */
function apply(ops: readonly Op[]): void {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    switch (op[0]) {
      case 'send': {
        const first = sockets.get(op[1]);
        let last = i;
        while (last + 1 < ops.length && ops[last + 1]![0] === 'send' && ops[last + 1]![1] === op[1]) last++;
        if (first) {
          first.cork(() => {
            for (let j = i; j <= last; j++) {
              // uWS may close the socket mid-run (past its backpressure bound): its close handler removed it.
              const ws = sockets.get(op[1]);
              if (ws) ws.send((ops[j] as Extract<Op, { 0: 'send' }>)[2], false, false);
            }
          });
        }
        i = last;
        break;
      }
      case 'end':
        sockets.get(op[1])?.end(op[2], op[3]);
        break;
      case 'sub':
        sockets.get(op[1])?.subscribe(op[2]);
        break;
      case 'unsub':
        sockets.get(op[1])?.unsubscribe(op[2]);
        break;
      case 'pub':
        app.publish(op[1], op[2], false, false);
        break;
    }
  }
}

// The slow-consumer sweep runs on the main thread from these figures: every socket with a backlog, and once more
// when it has drained.
const reported = new Set<number>();
const sweep = setInterval(() => {
  const entries: [number, number][] = [];
  for (const [id, ws] of sockets) {
    const bytes = ws.getBufferedAmount();
    if (bytes > 0) reported.add(id);
    else if (!reported.delete(id)) continue;
    entries.push([id, bytes]);
  }
  if (entries.length > 0) port.postMessage({ t: 'buffered', entries } satisfies FromWorker);
}, Math.max(10, Math.floor(limits.sweepMs / 2)));

port.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'ops':
      return apply(message.ops);
    case 'listen':
      return app.listen(message.host, message.port, (socket) => {
        listenSocket = socket || undefined;
        port.postMessage({ t: 'listening', port: socket ? uws.us_socket_local_port(socket) : false } satisfies FromWorker);
      });
    case 'revoked':
      for (const entry of message.entries) revocations.add(entry);
      return;
    case 'stop': {
      accepting = false;
      clearInterval(sweep);
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      for (const ws of [...sockets.values()]) ws.end(CloseCode.shutdown, 'hub shutting down');
      forwarding.stop();
      port.postMessage({ t: 'stopped' } satisfies FromWorker);
      // With no listener, socket or forwarded request left, the thread's loop empties and the worker exits.
      port.unref();
      return;
    }
  }
});
