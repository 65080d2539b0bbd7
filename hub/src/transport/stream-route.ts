import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { toErrorReply } from '../errors.ts';
import type { Logger } from '../log.ts';
import { peerAddress } from './forwarded-peer.ts';
import type { Request } from './http-route.ts';
import { routeTableOf } from './route-table.ts';

const statusLine: Record<number, string> = { 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 500: '500 Internal Server Error', 503: '503 Service Unavailable' };

export interface StreamedReply {
  contentType: string;
  headers: Record<string, string>;
  /** text, or bytes (a Parquet export) */
  chunks: AsyncIterable<string | Uint8Array>;
}

/**
 * A GET route whose answer is written as it is produced, with uWS backpressure respected: the next chunk is pulled
 * only once the previous one has drained to the socket. Errors before the first chunk are answered like any route's
 * (`{"error","message"}` with its status); an error mid-stream can only cut the response short, which the client sees
 * as a truncated chunked body, never as a complete-looking file.
 */
export function streamRoute(
  app: TemplatedApp,
  pattern: string,
  options: { log: Logger; onStatus?: ((status: number) => void) | undefined },
  handler: (req: Request) => Promise<StreamedReply>,
): void {
  const paramCount = (pattern.match(/:/g) ?? []).length;
  routeTableOf(app).add('get', pattern);
  app.get(pattern, (res: HttpResponse, req: HttpRequest) => {
    // uWS frees `req` when this function returns: copy what the handler may read first.
    const request = copyGet(res, req, peerAddress(app, res, req), paramCount);
    let aborted = false;
    let wake: (() => void) | undefined;
    res.onAborted(() => {
      aborted = true;
      wake?.();
    });
    const drained = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        res.onWritable(() => {
          wake = undefined;
          resolve();
          return true;
        });
      });
    void (async () => {
      let reply: StreamedReply;
      try {
        reply = await handler(request);
      } catch (error) {
        const answer = toErrorReply(error);
        if (answer.internal) options.log.error({ err: error, path: request.path }, 'request failed');
        if (aborted) return;
        options.onStatus?.(answer.status);
        res.cork(() => {
          res.writeStatus(statusLine[answer.status] ?? `${answer.status} Error`).writeHeader('content-type', 'application/json').end(JSON.stringify({ error: answer.code, message: answer.message }));
        });
        return;
      }
      if (aborted) return;
      options.onStatus?.(200);
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('content-type', reply.contentType);
        for (const [k, v] of Object.entries(reply.headers)) res.writeHeader(k, v);
      });
      const iterator = reply.chunks[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await iterator.next();
          if (aborted) break;
          if (next.done) {
            res.cork(() => res.end());
            return;
          }
          let ok = true;
          res.cork(() => (ok = res.write(next.value)));
          // A turn of the event loop per chunk even when the socket takes everything: on PGlite the next page's
          // query resolves without one, and a 100,000-row export ran as one chain that held every socket (issue #11).
          if (!ok) await drained();
          else await new Promise<void>((resolve) => setImmediate(resolve));
          if (aborted) break;
        }
      } catch (error) {
        options.log.error({ err: error, path: request.path }, 'streamed response failed');
        if (!aborted) res.close();
      } finally {
        if (aborted) await iterator.return?.();
      }
    })();
  });
}

function copyGet(res: HttpResponse, req: HttpRequest, remoteAddress: string, paramCount: number): Request {
  const headers = new Map(['authorization', 'accept'].map((h) => [h, req.getHeader(h)]));
  return {
    method: req.getMethod(),
    path: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ''),
    params: Array.from({ length: paramCount }, (_, i) => decodeURIComponent(req.getParameter(i) ?? '')),
    remoteAddress,
    header: (name) => headers.get(name) ?? '',
    body: () => Promise.resolve(Buffer.alloc(0)),
  };
}
