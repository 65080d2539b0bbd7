/**
 * `WS /yjs/{doc}` on the agent's HTTP server, for peer agents (and any y-websocket client that can prove the mesh key).
 * Only this event's gate doc is served, and only to a dialler whose mesh proof holds, checked before the upgrade;
 * the answer carries this agent's own proof (see `mesh-handshake.ts`). `GET /mesh/challenge` hands out the nonces.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { gateDocName, type SyncReplica } from '@opshub/replica';
import type { ServerResponse } from 'node:http';
import { MeshRefusal, type DialClaim, type MeshAnswerer } from './mesh-handshake.ts';
import type { ReplicaRelay } from './replica-relay.ts';
import { SyncSession, type SessionHooks, type SessionOptions } from './sync-session.ts';

export interface MeshServerOptions {
  event: string;
  device: string;
  answerer: MeshAnswerer;
  replica: Required<SyncReplica>;
  relay: ReplicaRelay;
  hooks?: SessionHooks;
  /** Checks updates from peers before they are applied. */
  admit?: SessionOptions['admit'];
  maxPayload?: number;
}

export class MeshServer {
  private readonly wss: WebSocketServer;
  private readonly path: string;
  /** the claim of each request being upgraded, so the 'headers' hook can answer with our proof */
  private readonly claims = new WeakMap<IncomingMessage, DialClaim>();

  constructor(private readonly options: MeshServerOptions) {
    this.path = `/yjs/${gateDocName(options.event)}`;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 256 * 1024 * 1024 });
    this.wss.on('headers', (headers, request) => {
      const claim = this.claims.get(request);
      if (claim) headers.push(...options.answerer.answerHeaders(claim));
    });
  }

  /** `GET /mesh/challenge`: a single-use nonce for a dialler's proof. */
  serveChallenge(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify({ challenge: this.options.answerer.challenge() }));
  }

  /** True when the request is for `/yjs/…` (answered here, upgraded or refused). */
  handles(request: IncomingMessage): boolean {
    return (request.url ?? '').startsWith('/yjs/');
  }

  /**
   * Refuses with 404/401/403 before the upgrade, or upgrades and starts a peer session.
   * @example server.on('upgrade', (req, socket, head) => mesh.upgrade(req, socket, head));
   */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://agent');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return refuse(socket, 400, 'bad path');
    }
    if (path !== this.path) return refuse(socket, 404, `this agent serves only ${this.path}`);
    let claim: DialClaim;
    try {
      claim = this.options.answerer.verify(url.searchParams);
    } catch (error) {
      if (error instanceof MeshRefusal) return refuse(socket, error.status, error.message);
      throw error;
    }
    this.claims.set(request, claim);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new SyncSession(ws, this.options.replica, {
        kind: 'peer',
        remoteDevice: claim.device,
        ...(this.options.admit && { admit: this.options.admit }),
        hooks: {
          ...this.options.hooks,
          onClose: (s, code, reason) => {
            this.options.relay.remove(s);
            this.options.hooks?.onClose?.(s, code, reason);
          },
        },
      });
      this.options.relay.add(session);
      session.start();
    });
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}

function refuse(socket: Duplex, status: 400 | 401 | 403 | 404 | 503, message: string): void {
  const body = JSON.stringify({ error: { 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 503: 'unavailable' }[status], message });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status];
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
