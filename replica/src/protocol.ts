/**
 * The y-websocket wire protocol as pure functions: bytes in, a typed message out, and back.
 *
 * No transport and no state live here. A server (the hub's replica host, an edge agent) decodes each binary frame
 * with {@link decodeMessage}, decides what it allows, and lets {@link respond} apply the message to its doc and
 * awareness and produce the reply frames. The frame layout is described in `replica/PROTOCOL.md`.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';

/** Top-level message types, the first varUint of every frame (same numbers as y-websocket). */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;
/** Second varUint of a `sync` frame (same numbers as y-protocols/sync). */
export const SyncStep = { step1: 0, step2: 1, update: 2 } as const;
/** Sub-type of an `auth` frame: y-protocols knows only "permission denied". */
const AUTH_PERMISSION_DENIED = 0;

/** One decoded frame. `update` payloads are Yjs v1 updates; `awareness` payloads are y-protocols awareness updates. */
export type SyncMessage =
  | { kind: 'sync-step1'; stateVector: Uint8Array }
  | { kind: 'sync-step2'; update: Uint8Array }
  | { kind: 'sync-update'; update: Uint8Array }
  | { kind: 'awareness'; update: Uint8Array }
  | { kind: 'auth-denied'; reason: string }
  | { kind: 'query-awareness' };

export type SyncMessageKind = SyncMessage['kind'];

/**
 * A frame that is not a well-formed y-websocket message: unknown type, truncated, trailing bytes, or a Yjs payload
 * that does not decode. Nothing has been applied when it is thrown; close the socket (1007) and keep the doc.
 */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
  constructor(
    message: string,
    /** Length of the offending frame, for logs. */
    readonly frameBytes: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DecodeOptions {
  /**
   * Fully decode Yjs update payloads before returning them (default true). `Y.applyUpdate` integrates structs before
   * it reads the delete set, so a frame torn in its delete set would otherwise be applied half; decoding first keeps
   * the doc untouched. Turn it off only when the caller decodes the update itself (e.g. `checkGateUpdate`).
   */
  verifyUpdates?: boolean;
}

type Reader = (decoder: decoding.Decoder, options: Required<DecodeOptions>) => SyncMessage;

const syncReaders: Record<number, Reader> = {
  [SyncStep.step1]: (d) => ({ kind: 'sync-step1', stateVector: checkedStateVector(decoding.readVarUint8Array(d)) }),
  [SyncStep.step2]: (d, o) => ({ kind: 'sync-step2', update: checkedUpdate(decoding.readVarUint8Array(d), o) }),
  [SyncStep.update]: (d, o) => ({ kind: 'sync-update', update: checkedUpdate(decoding.readVarUint8Array(d), o) }),
};

/** The dispatch table: one reader per top-level message type. */
const readers: Record<number, Reader> = {
  [MessageType.sync]: (d, o) => {
    const step = decoding.readVarUint(d);
    const read = syncReaders[step];
    if (!read) throw new TypeError(`unknown sync step ${step}`);
    return read(d, o);
  },
  [MessageType.awareness]: (d) => ({ kind: 'awareness', update: checkedAwareness(decoding.readVarUint8Array(d)) }),
  [MessageType.auth]: (d) => {
    const sub = decoding.readVarUint(d);
    if (sub !== AUTH_PERMISSION_DENIED) throw new TypeError(`unknown auth message ${sub}`);
    return { kind: 'auth-denied', reason: decoding.readVarString(d) };
  },
  [MessageType.queryAwareness]: () => ({ kind: 'query-awareness' }),
};

/**
 * Decodes one binary frame. Throws {@link MalformedMessageError} for anything that is not exactly one valid message.
 * @example
 * const message = decodeMessage(new Uint8Array(frame));
 * if (message.kind === 'sync-update') checkGateUpdate(doc, message.update);
 */
export function decodeMessage(frame: Uint8Array, options: DecodeOptions = {}): SyncMessage {
  const opts: Required<DecodeOptions> = { verifyUpdates: options.verifyUpdates ?? true };
  try {
    const decoder = decoding.createDecoder(frame);
    const type = decoding.readVarUint(decoder);
    const read = readers[type];
    if (!read) throw new TypeError(`unknown message type ${type}`);
    const message = read(decoder, opts);
    if (decoding.hasContent(decoder)) throw new TypeError('trailing bytes after the message');
    return message;
  } catch (error) {
    throw new MalformedMessageError(`malformed y-websocket frame: ${describe(error)}`, frame.byteLength, { cause: error });
  }
}

type Writer<K extends SyncMessageKind> = (encoder: encoding.Encoder, message: Extract<SyncMessage, { kind: K }>) => void;

/** The encoding side of the dispatch table, keyed by message kind. */
const writers: { [K in SyncMessageKind]: Writer<K> } = {
  'sync-step1': (e, m) => writeSync(e, SyncStep.step1, m.stateVector),
  'sync-step2': (e, m) => writeSync(e, SyncStep.step2, m.update),
  'sync-update': (e, m) => writeSync(e, SyncStep.update, m.update),
  awareness: (e, m) => {
    encoding.writeVarUint(e, MessageType.awareness);
    encoding.writeVarUint8Array(e, m.update);
  },
  'auth-denied': (e, m) => {
    encoding.writeVarUint(e, MessageType.auth);
    encoding.writeVarUint(e, AUTH_PERMISSION_DENIED);
    encoding.writeVarString(e, m.reason);
  },
  'query-awareness': (e) => encoding.writeVarUint(e, MessageType.queryAwareness),
};

/**
 * Encodes one message as a binary frame, byte-compatible with y-websocket.
 * @example socket.send(encodeMessage({ kind: 'sync-update', update }));
 */
export function encodeMessage(message: SyncMessage): Uint8Array {
  const encoder = encoding.createEncoder();
  (writers[message.kind] as Writer<SyncMessageKind>)(encoder, message);
  return encoding.toUint8Array(encoder);
}

/** What {@link respond} and {@link openingFrames} work on: a doc, and optionally the awareness that goes with it. */
export interface SyncReplica {
  doc: Y.Doc;
  awareness?: awarenessProtocol.Awareness;
}

/**
 * The frames a side sends as soon as a socket opens: sync step 1 (its state vector) and, when it has awareness, the
 * states it knows. Both ends send them, so each learns what the other lacks.
 * @example for (const frame of openingFrames({ doc, awareness })) socket.send(frame);
 */
export function openingFrames(replica: SyncReplica, options: { awarenessClients?: number[] } = {}): Uint8Array[] {
  const frames = [encodeMessage({ kind: 'sync-step1', stateVector: Y.encodeStateVector(replica.doc) })];
  const awareness = replica.awareness;
  if (awareness) {
    const clients = options.awarenessClients ?? [...awareness.getStates().keys()];
    if (clients.length > 0) {
      frames.push(encodeMessage({ kind: 'awareness', update: awarenessProtocol.encodeAwarenessUpdate(awareness, clients) }));
    }
  }
  return frames;
}

/**
 * Applies a decoded message to the replica and returns the frames to send back (often none). Updates are applied
 * with `origin` as the transaction origin, so the caller's `doc.on('update')` relay can skip the socket they came
 * from. Authorization (may this socket write? may it write this?) is the caller's job and happens before this call.
 * @example
 * const message = decodeMessage(frame);
 * for (const reply of respond(message, { doc, awareness }, connection)) connection.send(reply);
 */
export function respond(message: SyncMessage, replica: SyncReplica, origin: unknown): Uint8Array[] {
  switch (message.kind) {
    case 'sync-step1':
      return [encodeMessage({ kind: 'sync-step2', update: Y.encodeStateAsUpdate(replica.doc, message.stateVector) })];
    case 'sync-step2':
    case 'sync-update':
      Y.applyUpdate(replica.doc, message.update, origin);
      return [];
    case 'awareness':
      if (replica.awareness) awarenessProtocol.applyAwarenessUpdate(replica.awareness, message.update, origin);
      return [];
    case 'query-awareness': {
      const awareness = replica.awareness;
      if (!awareness || awareness.getStates().size === 0) return [];
      const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [...awareness.getStates().keys()]);
      return [encodeMessage({ kind: 'awareness', update })];
    }
    case 'auth-denied':
      return [];
  }
}

/** True for the two kinds that write to the doc. */
export function isDocUpdate(message: SyncMessage): message is Extract<SyncMessage, { update: Uint8Array; kind: 'sync-step2' | 'sync-update' }> {
  return message.kind === 'sync-step2' || message.kind === 'sync-update';
}

/**
 * The awareness client ids an awareness update speaks for, with their new state (null = gone). A server keeps the
 * ids seen on a socket so it can remove them when that socket closes, as y-websocket's server does.
 * @example for (const { clientId } of readAwarenessEntries(message.update)) controlled.add(clientId);
 */
export function readAwarenessEntries(update: Uint8Array): { clientId: number; clock: number; state: unknown }[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: { clientId: number; clock: number; state: unknown }[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    entries.push({ clientId, clock, state: JSON.parse(decoding.readVarString(decoder)) as unknown });
  }
  return entries;
}

function writeSync(encoder: encoding.Encoder, step: number, payload: Uint8Array): void {
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, payload);
}

function checkedStateVector(bytes: Uint8Array): Uint8Array {
  Y.decodeStateVector(bytes);
  return bytes;
}

function checkedUpdate(bytes: Uint8Array, options: Required<DecodeOptions>): Uint8Array {
  if (options.verifyUpdates) Y.decodeUpdate(bytes);
  return bytes;
}

function checkedAwareness(bytes: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(bytes);
  const count = decoding.readVarUint(decoder);
  for (let i = 0; i < count; i++) {
    decoding.readVarUint(decoder);
    decoding.readVarUint(decoder);
    const state: unknown = JSON.parse(decoding.readVarString(decoder));
    // applyAwarenessUpdate stores whatever JSON it gets; states are objects or null (= client left).
    if (state !== null && (typeof state !== 'object' || Array.isArray(state))) throw new TypeError('awareness state is not an object');
  }
  if (decoding.hasContent(decoder)) throw new TypeError('trailing bytes after the awareness update');
  return bytes;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
