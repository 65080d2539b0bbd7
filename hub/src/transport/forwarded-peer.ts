import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { addressFromBytes } from './client-address.ts';

/** The header a socket worker names the client's address in when it forwards a request to the main thread. */
export const FORWARDED_PEER = 'x-opshub-peer';

// One secret per app, as the route table is kept (transport/route-table.ts): routes are registered through free
// functions all over the hub, and a side table keyed by the app leaves their signatures as they are.
const secrets = new WeakMap<TemplatedApp, string>();

/** From now on `app` takes the client's address from {@link FORWARDED_PEER} when the header carries `secret`. */
export function trustForwardedPeer(app: TemplatedApp, secret: string): void {
  secrets.set(app, secret);
}

/**
 * The address of the client a request came from: its TCP peer, or, for a request a socket worker forwarded, the
 * peer the worker saw. The header counts only with the hub's secret in it (only its workers know it; a client
 * that sends the header gains nothing), so `X-Forwarded-For` and per-client limits work as on one thread.
 * Read it in the request handler, before any await.
 */
export function peerAddress(app: TemplatedApp, res: HttpResponse, req: HttpRequest): string {
  const secret = secrets.get(app);
  if (secret !== undefined) {
    const forwarded = req.getHeader(FORWARDED_PEER);
    if (forwarded.startsWith(`${secret} `)) return forwarded.slice(secret.length + 1);
  }
  return addressFromBytes(res.getRemoteAddress());
}
