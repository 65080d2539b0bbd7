import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { Claims } from '@opshub/schema';
import { extractToken, type TokenVerifier } from '../auth/token-verifier.ts';
import { toErrorReply } from '../errors.ts';

/** What an upgrade needs from the request, copied out before uWS frees it (when the handler returns). */
export interface Handshake {
  readonly key: string;
  readonly protocol: string;
  readonly extensions: string;
  readonly token: string | undefined;
}

export function readHandshake(req: HttpRequest): Handshake {
  return {
    key: req.getHeader('sec-websocket-key'),
    protocol: req.getHeader('sec-websocket-protocol'),
    extensions: req.getHeader('sec-websocket-extensions'),
    token: extractToken(req.getHeader('authorization'), req.getQuery('token') ?? ''),
  };
}

/** An HTTP answer instead of the upgrade. */
export class UpgradeRefusal {
  constructor(
    readonly status: string,
    readonly error: string,
    readonly message: string,
  ) {}
}

/** The answer to an upgrade while the hub is closing: clients retry, and reach another hub. */
export const shuttingDown = new UpgradeRefusal('503 Service Unavailable', 'unavailable', 'hub shutting down');

export function refuseUpgrade(res: HttpResponse, refusal: UpgradeRefusal): void {
  // Inside the handler uWS has already corked the response and cork just runs this; after an await it corks.
  // The connection closes with the answer: no client reuses a refused upgrade's connection, and one left open is a
  // socket a socket worker cannot find when the hub stops (its thread would not exit until uWS timed it out).
  res.cork(() => {
    res.writeStatus(refusal.status).writeHeader('content-type', 'application/json').end(JSON.stringify({ error: refusal.error, message: refusal.message }), true);
  });
}

/**
 * Authenticates the handshake's token, then upgrades with the user data `accept` builds (or answers its refusal).
 *
 * Whenever the verifier can decide at once (every HS256 token, a JWKS token whose signing key the hub has already
 * fetched) the upgrade completes inside uWS's upgrade handler. That is not a shortcut: the pinned uWS (20.30 /
 * uWebSockets 20.4x) has a bug in `HttpResponse::cork` after an upgrade made from a later callback: when adopting the
 * socket reallocates it in place, cork reads the new WebSocket's memory as HTTP response state and, when the bits fall
 * a certain way, shuts the fresh socket down right after `open` (clients see 1006 and nothing else; fixed upstream in
 * uWebSockets PR #1929). Under load it hit about one upgrade in 15,000 here. Upgrading without cork avoids it but
 * makes uWS print a warning per upgrade. Only a JWKS token whose key the hub has not fetched yet (key set not loaded
 * or past its cache age, or a `kid` it does not hold) still takes the async path.
 */
export function upgradeAuthenticated<UserData>(
  res: HttpResponse,
  context: us_socket_context_t,
  handshake: Handshake,
  verifier: TokenVerifier,
  accept: (claims: Claims) => UserData | UpgradeRefusal,
): void {
  const { token } = handshake;
  if (!token) return refuseUpgrade(res, new UpgradeRefusal('401 Unauthorized', 'unauthorized', 'a token is required (Authorization: Bearer or ?token=)'));
  const unauthorized = (error: unknown) => new UpgradeRefusal('401 Unauthorized', 'unauthorized', toErrorReply(error).message);
  const complete = (claims: Claims): void => {
    const outcome = accept(claims);
    if (outcome instanceof UpgradeRefusal) return refuseUpgrade(res, outcome);
    res.upgrade(outcome, handshake.key, handshake.protocol, handshake.extensions, context);
  };
  let known: Claims | undefined;
  try {
    known = verifier.verifyNow(token);
  } catch (error) {
    return refuseUpgrade(res, unauthorized(error));
  }
  if (known) return complete(known);
  let aborted = false;
  res.onAborted(() => (aborted = true));
  verifier.verify(token).then(
    (claims) => {
      if (!aborted) res.cork(() => complete(claims));
    },
    (error: unknown) => {
      if (!aborted) refuseUpgrade(res, unauthorized(error));
    },
  );
}
