import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { ClientError, toErrorReply } from '../errors.ts';
import type { Logger } from '../log.ts';
import { peerAddress } from './forwarded-peer.ts';
import { routeTableOf } from './route-table.ts';

/** What a handler sees of a request: copied out of uWS's stack-allocated `req` before anything async happens. */
export interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly params: readonly string[];
  /**
   * The socket peer's address, canonical (`203.0.113.7`, `2001:db8::1`; an IPv4 peer of a dual-stack socket as IPv4).
   * Behind a reverse proxy this is the proxy: per-client limits resolve the client with `TrustedProxies.clientAddress`
   * from this and `header('x-forwarded-for')`.
   */
  readonly remoteAddress: string;
  /** `authorization`, `content-type`, `accept`, `stripe-signature` (the box office's webhook), and `x-forwarded-for` (every line of it, comma-joined); '' when absent */
  header(name: string): string;
  /** The whole body, at most `limit` bytes (413 beyond). */
  body(): Promise<Buffer>;
}

export interface Reply {
  status: number;
  body: unknown;
  /** `application/json` unless said otherwise; a string body is sent as is */
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: Request) => Promise<Reply> | Reply;

const HEADERS_KEPT = ['authorization', 'content-type', 'accept', 'stripe-signature'];
const statusText: Record<number, string> = {
  200: '200 OK', 201: '201 Created', 204: '204 No Content', 400: '400 Bad Request', 401: '401 Unauthorized',
  403: '403 Forbidden', 404: '404 Not Found', 405: '405 Method Not Allowed', 409: '409 Conflict', 413: '413 Payload Too Large',
  415: '415 Unsupported Media Type', 429: '429 Too Many Requests', 500: '500 Internal Server Error', 501: '501 Not Implemented',
  503: '503 Service Unavailable',
};

/**
 * Registers an HTTP route on a uWS app with the house rules: copy the request before any await, register
 * `onAborted`, read the body with a size limit, cork the late write, and map errors to `{"error","message"}`.
 * @example route(app, 'get', '/api/v1/events/:e', log, async (req) => ({ status: 200, body: await getEvent(req.params[0]) }))
 */
export function route(
  app: TemplatedApp,
  method: 'get' | 'post' | 'put' | 'del' | 'patch' | 'any',
  pattern: string,
  options: { log: Logger; bodyLimit?: number; onStatus?: (status: number) => void },
  handler: Handler,
): void {
  const paramCount = (pattern.match(/:/g) ?? []).length;
  routeTableOf(app).add(method, pattern);
  app[method](pattern, (res: HttpResponse, req: HttpRequest) => {
    const request = copyRequest(res, req, peerAddress(app, res, req), paramCount, options.bodyLimit ?? 1024 * 1024);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
      request.abort();
    });
    const send = (reply: Reply) => {
      if (aborted) return;
      options.onStatus?.(reply.status);
      const isText = typeof reply.body === 'string' || Buffer.isBuffer(reply.body);
      const payload = reply.status === 204 ? '' : isText ? (reply.body as string | Buffer) : JSON.stringify(reply.body);
      res.cork(() => {
        res.writeStatus(statusText[reply.status] ?? String(reply.status));
        res.writeHeader('content-type', reply.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json'));
        for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
        res.end(payload);
      });
    };
    Promise.resolve()
      .then(() => handler(request))
      .then(send, (error: unknown) => {
        const reply = toErrorReply(error);
        if (reply.internal) options.log.error({ err: error, path: request.path }, 'request failed');
        send({ status: reply.status, body: { error: reply.code, message: reply.message } });
      });
  });
}

function copyRequest(res: HttpResponse, req: HttpRequest, remoteAddress: string, paramCount: number, limit: number): Request & { abort(): void } {
  const method = req.getMethod();
  const path = req.getUrl();
  const query = new URLSearchParams(req.getQuery() ?? '');
  const params = Array.from({ length: paramCount }, (_, i) => decodeURIComponent(req.getParameter(i) ?? ''));
  const headers = new Map(HEADERS_KEPT.map((h) => [h, req.getHeader(h)]));
  headers.set('x-forwarded-for', forwardedFor(req));
  // The body must be listened for now: uWS drops data that arrives while no onData handler is set.
  let body: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  let fail: (e: Error) => void = () => {};
  // DELETE may carry a body too (unsubscribing names the push endpoint in one).
  if (method !== 'get' && method !== 'head') {
    body = new Promise<Buffer>((resolve, reject) => {
      fail = reject;
      const chunks: Buffer[] = [];
      let size = 0;
      res.onData((chunk, isLast) => {
        size += chunk.byteLength;
        if (size > limit) {
          reject(new PayloadTooLarge(limit));
          return;
        }
        // uWS neuters the chunk after this callback: copy it.
        chunks.push(Buffer.from(chunk.slice(0)));
        if (isLast) resolve(Buffer.concat(chunks));
      });
    });
    body.catch(() => {});
  }
  return {
    method,
    path,
    query,
    params,
    remoteAddress,
    header: (name) => headers.get(name) ?? '',
    body: () => body,
    abort: () => fail(new Error('request aborted')),
  };
}

/**
 * Every `X-Forwarded-For` line, in order, as one list. `getHeader` returns only the first line: behind a proxy that
 * adds a line of its own below one the client sent, that would be the client's line alone, entries of its choosing.
 */
function forwardedFor(req: HttpRequest): string {
  const lines: string[] = [];
  req.forEach((name, value) => {
    if (name === 'x-forwarded-for') lines.push(value);
  });
  return lines.join(', ');
}

class PayloadTooLarge extends ClientError {
  constructor(limit: number) {
    super('invalid', `request body larger than ${limit} bytes`, 413);
  }
}

/** Parses a JSON body; a syntax error is the client's (`invalid`). */
export async function jsonBody(req: Request): Promise<unknown> {
  const type = req.header('content-type').split(';')[0]!.trim().toLowerCase();
  if (!isJsonType(type)) throw new ClientError('invalid', `expected a JSON body (Content-Type: application/json), not ${type}`, 415);
  const raw = await req.body();
  let nul: string | undefined;
  let parsed: unknown;
  try {
    // A NUL (\u0000) is valid JSON but no text column or jsonb value can hold it: refused here, before any write,
    // rather than failing halfway through one (issue #11).
    parsed = JSON.parse(raw.toString('utf8'), (key, value: unknown) => {
      if (nul === undefined && ((typeof value === 'string' && value.includes('\u0000')) || key.includes('\u0000'))) nul = key;
      return value;
    });
  } catch {
    throw new ClientError('invalid', 'request body is not valid JSON');
  }
  if (nul !== undefined) throw new ClientError('invalid', `the body holds a NUL character (\\u0000)${nul ? ` in "${nul.replaceAll('\u0000', '\\u0000').slice(0, 64)}"` : ''}: nothing was written`);
  return parsed;
}

/**
 * Content types read as JSON: `application/json` and `application/*+json`; also no type at all and `text/plain`,
 * which is what `fetch` sends for a string body whose caller forgot the header. Anything else (XML, a form,
 * multipart) is `415` rather than guessed at (docs/api.md).
 */
function isJsonType(type: string): boolean {
  return type === '' || type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type) || type === 'text/plain';
}
