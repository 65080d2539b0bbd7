/**
 * `WS /yjs/{doc}` on the agent's HTTP server, for peer agents (and any unmodified y-websocket client with a token).
 * Only this event's gate doc is served; the token is checked before the upgrade (see `peer-token.ts`).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { Id } from '@opshub/schema';
import { gateDocName, type SyncReplica } from '@opshub/replica';
import { PeerTokenError, readPeerToken } from './peer-token.ts';
import type { ReplicaRelay } from './replica-relay.ts';
import { DEVICE_HEADER } from './sync-link.ts';
import { SyncSession, type SessionHooks, type SessionOptions } from './sync-session.ts';

export interface MeshServerOptions {
  event: string;
  device: string;
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

  constructor(private readonly options: MeshServerOptions) {
    this.path = `/yjs/${gateDocName(options.event)}`;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 256 * 1024 * 1024 });
    this.wss.on('headers', (headers) => headers.push(`${DEVICE_HEADER}: ${options.device}`));
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
    try {
      readPeerToken(url.searchParams.get('token'), this.options.event);
    } catch (error) {
      if (error instanceof PeerTokenError) return refuse(socket, error.status, error.message);
      throw error;
    }
    const device = Id.safeParse(url.searchParams.get('device'));
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new SyncSession(ws, this.options.replica, {
        kind: 'peer',
        ...(device.success && { remoteDevice: device.data }),
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

function refuse(socket: Duplex, status: 400 | 401 | 403 | 404, message: string): void {
  const body = JSON.stringify({ error: status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : 'invalid', message });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status];
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
