/**
 * `GET /announcements` for the gate screen, with a long poll: the screen sends the `ETag` of what it shows in
 * `If-None-Match` and `?wait=S`, and the agent answers when the announcements change (200 with the new ones) or after
 * S seconds (304). An emergency then reaches the screen as soon as it reaches the agent's replica, instead of on the
 * screen's next poll (a second apart: half a second more on average). Without `wait` or with another tag, it
 * answers at once.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { DocNotices } from '@opshub/replica';

/** Under the agent's 30 s request timeout, with room to spare. */
export const MAX_WAIT_S = 20;
/** Long polls held at once; beyond, `429` with `Retry-After: 1` (the screen is one page; this bounds a runaway). */
const MAX_WAITING = 32;

export const NoticesQuery = z.object({ wait: z.coerce.number().int().min(0).max(MAX_WAIT_S).default(0) });

export interface NoticeSource {
  /** the notices in the replica (validated there: a doc may come from a peer) */
  read: () => DocNotices;
  /** calls the listener after each change of the notices; returns the function that stops it */
  onChange: (listener: () => void) => () => void;
}

/** The notices as the answer's body, and its strong validator (RFC 9110 §8.8.3). */
function current(source: NoticeSource): { text: string; tag: string } {
  const text = JSON.stringify(source.read());
  return { text, tag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"` };
}

export class NoticesLongPoll {
  #waiting = 0;

  constructor(private readonly source: NoticeSource) {}

  /** Requests held now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Answers one request; `wait` is the validated `?wait=`. */
  async answer(request: IncomingMessage, response: ServerResponse, wait: number): Promise<void> {
    let { text, tag } = current(this.source);
    const shown = request.headers['if-none-match'];
    if (shown === tag && wait > 0 && this.#waiting >= MAX_WAITING) {
      // A 304 now would send the screen straight back: it waits a second on anything else, so it polls instead.
      const busy = JSON.stringify({ error: 'busy', message: `${MAX_WAITING} announcement requests are already waiting; ask again in a second` });
      response.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(busy), 'cache-control': 'no-store' });
      return void response.end(busy);
    }
    if (shown === tag && wait > 0) {
      this.#waiting++;
      try {
        await this.#changeOrTimeout(request, wait * 1000);
      } finally {
        this.#waiting--;
      }
      ({ text, tag } = current(this.source));
    }
    if (response.destroyed) return;
    const headers = { etag: tag, 'cache-control': 'no-store' };
    if (shown === tag) {
      response.writeHead(304, headers);
      return void response.end();
    }
    response.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }

  /** Resolves on the next change of the notices, after `ms`, or when the screen goes away. */
  #changeOrTimeout(request: IncomingMessage, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        request.socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const stop = this.source.onChange(done);
      request.socket.once('close', done);
    });
  }
}
