/**
 * The socket.io wire protocol as the bench's lean client speaks it: Engine.IO v4 packets over a WebSocket (one
 * packet per text frame, a one-digit type first) carrying socket.io v5 packets on the default namespace.
 * Written from the protocol documents (socket.io's `engine.io-protocol` and `socket.io-protocol` specifications),
 * only the parts a subscriber needs: the open handshake, the server's heartbeat, CONNECT with an auth payload,
 * EVENT with an acknowledgement id, ACK, CONNECT_ERROR and DISCONNECT. No binary attachments (the bench's payloads
 * are JSON), no namespaces besides `/`, no HTTP long-polling.
 *
 *   server → client  `0{"sid":…,"pingInterval":25000,"pingTimeout":20000,"maxPayload":…}`  Engine.IO open
 *   client → server  `40{"token":…}`                  socket.io CONNECT to `/`, with `auth`
 *   server → client  `40{"sid":…}`  or  `44{"message":…}`   connected, or refused by a middleware
 *   client → server  `421["sub","checkins"]`          EVENT with ack id 1
 *   server → client  `431[{"ok":true}]`               ACK 1
 *   server → client  `42["msg",{"t":…,"n":…,"p":…}]`  EVENT (the hot path)
 *   server → client  `2`, client → server `3`         heartbeat: in v4 the server pings and the client answers
 */

/** Engine.IO v4 packet types, as the ASCII digit that starts every packet. */
export const EnginePacket = Object.freeze({ open: 0x30, close: 0x31, ping: 0x32, pong: 0x33, message: 0x34, upgrade: 0x35, noop: 0x36 });

/** socket.io v5 packet types, the digit right after Engine.IO's `4` (message). */
export const SocketPacket = Object.freeze({ connect: 0x30, disconnect: 0x31, event: 0x32, ack: 0x33, connectError: 0x34, binaryEvent: 0x35, binaryAck: 0x36 });

/** What the client answers the server's ping with (Engine.IO `pong`, no payload). */
export const PONG = '3';

/**
 * The WebSocket URL of a socket.io server's Engine.IO endpoint, from the URL socket.io-client is given.
 * @example engineIoUrl('http://127.0.0.1:3000') // 'ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket'
 */
export function engineIoUrl(serverUrl: string, path = '/socket.io/'): string {
  const url = new URL(serverUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') throw new Error(`the lean socket.io client speaks http:// and ws:// only, not ${url.protocol}`);
  return `ws://${url.host}${path}?EIO=4&transport=websocket`;
}

/** socket.io CONNECT to the default namespace, with the handshake's `auth` object. */
export function encodeConnect(auth: Record<string, unknown> | undefined): string {
  return auth === undefined ? '40' : `40${JSON.stringify(auth)}`;
}

/**
 * socket.io EVENT on the default namespace; with `ackId` the server's handler gets a callback whose arguments
 * come back as ACK with that id.
 * @example encodeEvent(['sub', 'checkins'], 1) // '421["sub","checkins"]'
 */
export function encodeEvent(args: readonly unknown[], ackId?: number): string {
  return `42${ackId ?? ''}${JSON.stringify(args)}`;
}

/** The Engine.IO open packet's fields a client uses. */
export interface EngineOpen {
  readonly sid: string;
  readonly pingInterval: number;
  readonly pingTimeout: number;
  readonly maxPayload: number;
}

/** A packet the server sent that breaks the protocol as this client reads it. */
export class SocketioWireError extends Error {
  override readonly name = 'SocketioWireError';
}

/** Reads the Engine.IO open packet (`0{…}`). */
export function decodeOpen(text: string): EngineOpen {
  if (text.charCodeAt(0) !== EnginePacket.open) throw new SocketioWireError(`expected an Engine.IO open packet, got ${text.slice(0, 40)}`);
  const fields = JSON.parse(text.slice(1)) as Partial<EngineOpen>;
  if (typeof fields.sid !== 'string' || typeof fields.pingInterval !== 'number' || typeof fields.pingTimeout !== 'number') {
    throw new SocketioWireError(`an Engine.IO open packet without sid, pingInterval or pingTimeout: ${text.slice(0, 120)}`);
  }
  return { sid: fields.sid, pingInterval: fields.pingInterval, pingTimeout: fields.pingTimeout, maxPayload: fields.maxPayload ?? Number.POSITIVE_INFINITY };
}

/** A socket.io packet on the default namespace (the text after Engine.IO's `4`), for everything but the hot path. */
export interface DecodedSocketPacket {
  readonly type: number;
  /** the acknowledgement id, when the packet has one */
  readonly id: number | undefined;
  /** the JSON after the header, parsed; undefined when there is none */
  readonly data: unknown;
}

/**
 * Decodes a socket.io packet: `<type>[<id>][<json>]`. A namespace other than `/` or binary attachments (which
 * this client never asks for) are a {@link SocketioWireError}.
 * @example decodeSocketPacket('31[{"ok":true}]') // { type: 0x33, id: 1, data: [{ ok: true }] }
 */
export function decodeSocketPacket(text: string): DecodedSocketPacket {
  const type = text.charCodeAt(0);
  if (type < SocketPacket.connect || type > SocketPacket.binaryAck) throw new SocketioWireError(`not a socket.io packet: ${text.slice(0, 40)}`);
  if (type === SocketPacket.binaryEvent || type === SocketPacket.binaryAck) throw new SocketioWireError('binary attachments are not supported');
  let i = 1;
  if (text.charCodeAt(i) === 0x2f /* / */) throw new SocketioWireError(`only the default namespace is supported: ${text.slice(0, 40)}`);
  let id: number | undefined;
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) {
    id = (id ?? 0) * 10 + (text.charCodeAt(i) - 0x30);
    i++;
  }
  return { type, id, data: i < text.length ? JSON.parse(text.slice(i)) : undefined };
}

/**
 * The hot path: `42["<event>",{"t":` at bytes [start, …) of `frame`, as bytes. Where this prefix is, the payload's
 * `t` and `n` are read in place (see frame-fields.ts) instead of parsing the whole packet.
 * @example eventPrefix('msg') // Buffer '42["msg",{"t":'
 */
export function eventPrefix(event: string): Buffer {
  return Buffer.from(`42${JSON.stringify([event]).slice(0, -1)},{"t":`);
}
