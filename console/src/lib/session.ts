import { Claims } from '@opshub/schema';

/**
 * The signed-in token, kept in `sessionStorage`.
 *
 * Why sessionStorage and not a cookie or localStorage: the console is a static SPA and the hub checks the token on
 * every REST call and on the WebSocket upgrade, so nothing server-side needs a session. A cookie would be attached to
 * every request the browser makes to the hub, including cross-site ones (CSRF, cross-site WebSocket hijacking);
 * sessionStorage is only ever sent where the console puts it. It survives a reload, is scoped to one tab and is
 * gone when the tab closes, which suits shared control-room machines better than localStorage would.
 */
const storageKey = 'opshub.token';

/** What the console knows about the person signed in. The role only drives navigation: the hub decides everything. */
export interface Session {
  readonly token: string;
  readonly claims: Claims;
  /** seconds since the epoch, when the token carries `exp` */
  readonly expiresAt: number | undefined;
}

export type SessionState =
  | { readonly kind: 'signed-in'; readonly session: Session }
  | { readonly kind: 'signed-out' }
  | { readonly kind: 'invalid'; readonly reason: string };

export class TokenDecodeError extends Error {
  override readonly name = 'TokenDecodeError';
}

/**
 * Reads a JWT's claims without verifying its signature (the hub verifies; the console only needs the role to
 * choose what to show).
 * @example decodeToken(jwt).claims.role // 'staff'
 * @throws {TokenDecodeError} when the token is not a JWT carrying opshub claims
 */
export function decodeToken(token: string): Session {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) throw new TokenDecodeError('not a JWT (expected three dot-separated parts)');
  let payload: unknown;
  try {
    payload = JSON.parse(base64UrlDecode(parts[1]));
  } catch {
    throw new TokenDecodeError('the JWT payload is not JSON');
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) throw new TokenDecodeError('the token does not carry opshub claims (sub, role, events)');
  const exp = (payload as { exp?: unknown }).exp;
  return { token, claims: claims.data, expiresAt: typeof exp === 'number' ? exp : undefined };
}

/** True when the token's `exp` has passed (a token without `exp` never expires here; the hub may still refuse it). */
export function isExpired(session: Session, nowMs = Date.now()): boolean {
  return session.expiresAt !== undefined && session.expiresAt * 1000 <= nowMs;
}

/** Reads the token this tab signed in with. */
export function readSession(storage: Pick<Storage, 'getItem'> = sessionStorage): SessionState {
  const token = storage.getItem(storageKey);
  if (!token) return { kind: 'signed-out' };
  try {
    const session = decodeToken(token);
    return isExpired(session) ? { kind: 'invalid', reason: 'the sign-in link has expired' } : { kind: 'signed-in', session };
  } catch (error) {
    return { kind: 'invalid', reason: error instanceof Error ? error.message : String(error) };
  }
}

export function storeToken(token: string, storage: Pick<Storage, 'setItem'> = sessionStorage): void {
  storage.setItem(storageKey, token);
}

export function clearToken(storage: Pick<Storage, 'removeItem'> = sessionStorage): void {
  storage.removeItem(storageKey);
}

function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
