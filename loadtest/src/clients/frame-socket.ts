import WebSocket from 'ws';
import { LeanWebSocket } from './lean-websocket.ts';

/**
 * The WebSocket clients an opshub subscriber can run on: `lean` ({@link LeanWebSocket}, the default: it costs the
 * client core a fraction of what `ws` does, so the figures say more about the server) and `ws`, to cross-check a
 * figure against the library everyone knows. Chosen with `BENCH_CLIENT`.
 */
export const opshubClients = ['lean', 'ws'] as const;
export type OpshubClient = (typeof opshubClients)[number];
export const defaultOpshubClient: OpshubClient = 'lean';

/** `BENCH_CLIENT` held something other than a client's name. */
export class UnknownClientError extends Error {
  override readonly name = 'UnknownClientError';
  constructor(readonly value: string) {
    super(`BENCH_CLIENT: expected ${opshubClients.join(' or ')}, got "${value}"`);
  }
}

/**
 * The opshub client named by `value` (an environment variable's content); the default when unset or empty.
 * @example parseOpshubClient(process.env.BENCH_CLIENT) // 'lean'
 */
export function parseOpshubClient(value: string | undefined): OpshubClient {
  if (value === undefined || value === '') return defaultOpshubClient;
  const client = opshubClients.find((c) => c === value);
  if (!client) throw new UnknownClientError(value);
  return client;
}

/** What a subscriber hears from its socket. */
export interface FrameSocketHandlers {
  /** the handshake succeeded */
  open(): void;
  /** a text frame: bytes [start, end) of `data`, valid only during the call */
  message(data: Buffer, start: number, end: number): void;
  error(error: Error): void;
  /** the connection is gone, for whatever reason */
  close(): void;
}

/** The slice of a WebSocket client a subscriber uses. */
export interface FrameSocket {
  send(text: string): void;
  terminate(): void;
}

/**
 * Opens a WebSocket to `url` on the chosen client. Both get the same settings: no compression offered, no UTF-8
 * validation of incoming text, 30 s to finish the handshake.
 * @example const socket = openFrameSocket('lean', 'ws://127.0.0.1:8080/ws?token=…', '127.0.0.2', handlers);
 */
export function openFrameSocket(client: OpshubClient, url: string, localAddress: string | undefined, handlers: FrameSocketHandlers): FrameSocket {
  if (client === 'lean') return new LeanWebSocket(url, handlers, { handshakeTimeoutMs: 30_000, ...(localAddress && { localAddress }) });
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 30_000, ...(localAddress && { localAddress }) });
  ws.on('open', () => handlers.open());
  ws.on('message', (data: Buffer) => handlers.message(data, 0, data.length));
  ws.on('error', (error) => handlers.error(error));
  ws.on('close', () => handlers.close());
  return ws;
}
