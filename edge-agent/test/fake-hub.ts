/**
 * A stand-in for the hub's replica host, built on @opshub/replica the way the real one is meant to be: every frame is
 * decoded, updates from gates pass `checkGateUpdate` before they are applied, and updates are relayed to the other
 * sockets by origin. It keeps its doc across stop() / start(), like a hub that restarts with its Store.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { CloseCode } from '@opshub/schema';
import {
  checkGateUpdate,
  decodeMessage,
  encodeMessage,
  gateDocName,
  isDocUpdate,
  MalformedMessageError,
  observeScans,
  openingFrames,
  respond,
  type GateUpdateCheck,
  type ScanRecord,
} from '@opshub/replica';
import { EVENT } from './helpers.ts';

export class FakeHub {
  readonly awareness: Awareness;
  readonly rejections: GateUpdateCheck[] = [];
  /** Every new scan the hub saw, in arrival order: side effects would hang off this, once per scan. */
  readonly sideEffects: ScanRecord[] = [];
  port = 0;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<WebSocket>();

  constructor(readonly doc: Y.Doc) {
    this.awareness = new Awareness(doc);
    observeScans(doc, ({ entries }) => {
      for (const { scan } of entries) {
        this.sideEffects.push(scan);
      }
    });
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      const frame = encodeMessage({ kind: 'sync-update', update });
      for (const socket of this.sockets) if (socket !== origin) socket.send(frame);
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const wss = new WebSocketServer({ noServer: true });
    const server = createServer();
    server.on('upgrade', (request, socket, head) => {
      if (!request.url?.startsWith(`/yjs/${gateDocName(EVENT)}?token=`)) return void socket.destroy();
      wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.wss = wss;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data: Buffer) => {
      let message;
      try {
        message = decodeMessage(new Uint8Array(data), { verifyUpdates: false });
      } catch (error) {
        if (error instanceof MalformedMessageError) return ws.close(CloseCode.invalidPayload, 'malformed');
        throw error;
      }
      if (isDocUpdate(message)) {
        // The hub's rule for gate sockets: append valid scans, nothing else.
        const check = checkGateUpdate(this.doc, message.update);
        if (!check.ok) {
          this.rejections.push(check);
          return ws.close(CloseCode.forbidden, check.reason);
        }
      }
      for (const reply of respond(message, { doc: this.doc, awareness: this.awareness }, ws)) ws.send(reply);
      // As the hub does once it has stored them (here: at once): tell the gate what it has, so its pending drains.
      if (isDocUpdate(message) && message.update[0] !== 0) ws.send(encodeMessage({ kind: 'sync-step1', stateVector: Y.encodeStateVector(this.doc) }));
    });
    for (const frame of openingFrames({ doc: this.doc, awareness: this.awareness })) ws.send(frame);
  }
}
