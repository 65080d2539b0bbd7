/**
 * Who may open this agent's `/yjs/` endpoint: a peer presenting a `gate`, `staff` or `admin` token for this event.
 *
 * The agent holds no secret (the hub signs with HS256 by default, so there is no public key to check against), so
 * the token's claims are read WITHOUT verifying its signature. This keeps stray clients and other events' gates
 * out of the mesh, but anyone on the venue LAN who can write a JWT-shaped string can join it. The venue LAN is the
 * trust boundary; the hub still verifies everything that reaches it (tokens, and that gates only append valid
 * scans). See edge-agent/README.md.
 */
import { decodeJwt } from 'jose';
import { Claims, hasEvent } from '@opshub/schema';

const MESH_ROLES = new Set(['gate', 'staff', 'admin']);

/** A peer was refused; `status` is the HTTP answer before any upgrade. */
export class PeerTokenError extends Error {
  override readonly name = 'PeerTokenError';
  constructor(
    message: string,
    readonly status: 401 | 403,
  ) {
    super(message);
  }
}

/**
 * The claims of a peer's token, or a {@link PeerTokenError}. The signature is not verified (see the module comment).
 * @example const claims = readPeerToken(url.searchParams.get('token'), 'expo-2026');
 */
export function readPeerToken(token: string | null | undefined, event: string, now = Date.now()): Claims {
  if (!token) throw new PeerTokenError('a token query parameter is required', 401);
  let payload: ReturnType<typeof decodeJwt>;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new PeerTokenError('the token is not a JWT', 401);
  }
  if (typeof payload.exp === 'number' && payload.exp * 1000 <= now) throw new PeerTokenError('the token has expired', 401);
  const claims = Claims.safeParse({ sub: payload.sub, role: payload['role'], events: payload['events'], gate: payload['gate'] });
  if (!claims.success) throw new PeerTokenError('the token does not carry opshub claims', 401);
  if (!MESH_ROLES.has(claims.data.role)) throw new PeerTokenError(`role ${claims.data.role} may not join the gate mesh`, 403);
  if (!hasEvent(claims.data, event)) throw new PeerTokenError(`the token is not for event ${event}`, 403);
  return claims.data;
}
