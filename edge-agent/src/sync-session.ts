/**
 * One y-websocket conversation over one socket, either direction (the agent dialling the hub or a peer, or a peer
 * dialling the agent). The session object is the transaction origin of every update it applies, so the relay never
 * sends an update back to the socket it came from.
 */
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { CloseCode } from '@opshub/schema';
import {
  decodeMessage,
  encodeMessage,
  isDocUpdate,
  MalformedMessageError,
  openingFrames,
  readAwarenessEntries,
  respond,
  type SyncReplica,
} from '@opshub/replica';

export type SessionKind = 'hub' | 'peer';

/** Past this many unsent bytes the other side is not reading: drop it and let it resync later. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Close code for a socket we drop for a moment (not 44xx: y-websocket clients would stop reconnecting). */
const TRY_AGAIN_LATER = 1013;
/** Close code for an update refused by `admit` (transient for y-websocket clients: the sender may get fixed). */
const POLICY_VIOLATION = 1008;

export interface SessionHooks {
  /** The other side told us its state vector (its sync step 1). */
  onRemoteState?: (session: SyncSession, stateVector: Map<number, number>) => void;
  /** Our sync step 2 or an update left through the socket; `state` is what the other side now has from us. */
  onDelivered?: (session: SyncSession, state: Map<number, number>) => void;
  /** The other side's sync step 2 arrived: we hold everything it had. */
  onSynced?: (session: SyncSession) => void;
  onFrame?: (session: SyncSession) => void;
  onClose?: (session: SyncSession, code: number, reason: string) => void;
  onMalformed?: (session: SyncSession, error: MalformedMessageError) => void;
  /** An update `admit` refused; the socket is being closed. */
  onRefused?: (session: SyncSession, message: string) => void;
}

export interface SessionOptions {
  kind: SessionKind;
  /** Who is on the other end when known (peer agents announce their device). */
  remoteDevice?: string;
  hooks?: SessionHooks;
  /**
   * Checked before an update from the other side is applied (it decodes the update, so frames are not decoded
   * twice). Peers are checked with `checkGateUpdate(doc, update, { from: 'peer' })`; the hub is trusted.
   */
  admit?: (update: Uint8Array) => { ok: true } | { ok: false; message: string; malformed?: boolean };
}

export class SyncSession {
  readonly id = randomUUID();
  readonly kind: SessionKind;
  readonly remoteDevice: string | undefined;
  /** True once we answered the other side's step 1: from then on live updates flow (earlier ones ride in that step 2). */
  ready = false;
  /** True once the other side's step 2 arrived. */
  synced = false;
  private readonly awarenessClients = new Set<number>();
  private readonly hooks: SessionHooks;
  private readonly admit: SessionOptions['admit'];
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly replica: Required<SyncReplica>,
    options: SessionOptions,
  ) {
    this.kind = options.kind;
    this.remoteDevice = options.remoteDevice;
    this.hooks = options.hooks ?? {};
    this.admit = options.admit;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('close', (code, reason) => this.finish(code, reason.toString()));
    socket.on('error', () => {
      // 'close' follows; the link decides about reconnecting.
    });
  }

  /** Sends our step 1 and awareness; call once the socket is open. */
  start(): void {
    for (const frame of openingFrames(this.replica)) this.send(frame);
  }

  /** Relays a doc update (dropped before `ready`: the step 2 we answer with will contain it). */
  sendUpdate(update: Uint8Array): void {
    if (!this.ready) return;
    const state = this.hooks.onDelivered ? Y.parseUpdateMeta(update).to : undefined;
    this.send(encodeMessage({ kind: 'sync-update', update }), state && (() => this.hooks.onDelivered?.(this, state)));
  }

  sendAwareness(update: Uint8Array): void {
    this.send(encodeMessage({ kind: 'awareness', update }));
  }

  close(code: number = CloseCode.normal, reason = ''): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) this.socket.close(code, reason);
  }

  get open(): boolean {
    return !this.closed && this.socket.readyState === this.socket.OPEN;
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.close(CloseCode.invalidPayload, 'y-websocket frames are binary');
    const frame = toBytes(data);
    let message;
    try {
      message = decodeMessage(frame, { verifyUpdates: this.admit === undefined });
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.hooks.onMalformed?.(this, error);
      return this.close(CloseCode.invalidPayload, 'malformed y-websocket frame');
    }
    this.hooks.onFrame?.(this);
    if (this.admit && isDocUpdate(message)) {
      const verdict = this.admit(message.update);
      if (!verdict.ok && verdict.malformed) {
        this.hooks.onMalformed?.(this, new MalformedMessageError(verdict.message, frame.length));
        return this.close(CloseCode.invalidPayload, 'malformed y-websocket frame');
      }
      if (!verdict.ok) {
        this.hooks.onRefused?.(this, verdict.message);
        return this.close(POLICY_VIOLATION, 'update refused');
      }
    }
    if (message.kind === 'awareness') {
      for (const { clientId, state } of readAwarenessEntries(message.update)) {
        if (state === null) this.awarenessClients.delete(clientId);
        else this.awarenessClients.add(clientId);
      }
    }
    const ourState = message.kind === 'sync-step1' ? Y.decodeStateVector(Y.encodeStateVector(this.replica.doc)) : undefined;
    let replies: Uint8Array[];
    try {
      replies = respond(message, this.replica, this);
    } catch (error) {
      // decodeMessage checked the bytes; an update that still fails to integrate is refused the same way.
      this.hooks.onMalformed?.(this, new MalformedMessageError(`update does not apply: ${String(error)}`, frame.length, { cause: error }));
      return this.close(CloseCode.invalidPayload, 'update does not apply');
    }
    for (const reply of replies) this.send(reply, ourState && (() => this.hooks.onDelivered?.(this, ourState)));
    if (message.kind === 'sync-step1') {
      this.ready = true;
      this.hooks.onRemoteState?.(this, Y.decodeStateVector(message.stateVector));
    } else if (message.kind === 'sync-step2' && !this.synced) {
      this.synced = true;
      this.hooks.onSynced?.(this);
    }
  }

  private send(frame: Uint8Array, onSent?: () => void): void {
    if (!this.open) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) return this.close(TRY_AGAIN_LATER, 'not reading');
    this.socket.send(frame, { binary: true }, (error) => {
      if (!error) onSent?.();
    });
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    // As y-websocket's server does: the states this socket spoke for are gone with it (they return on renewal
    // if the client is still reachable another way).
    const gone = [...this.awarenessClients].filter((id) => id !== this.replica.doc.clientID);
    if (gone.length > 0) awarenessProtocol.removeAwarenessStates(this.replica.awareness, gone, this);
    this.hooks.onClose?.(this, code, reason);
  }
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
