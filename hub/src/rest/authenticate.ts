import { hasEvent, type Claims, type Role } from '@opshub/schema';
import { extractToken, type TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError } from '../errors.ts';
import type { Request } from '../transport/http-route.ts';

/** Verifies the request's token (Bearer header or `token` query); 401 when missing or bad. */
export async function authenticate(verifier: TokenVerifier, req: Request): Promise<Claims> {
  const token = extractToken(req.header('authorization'), req.query.get('token') ?? '');
  if (!token) throw new ClientError('unauthorized', 'a token is required (Authorization: Bearer or ?token=)');
  return verifier.verify(token);
}

/** 403 unless the claims carry `event` and one of `roles`. */
export function requireAccess(claims: Claims, event: string, roles?: readonly Role[]): void {
  if (!hasEvent(claims, event)) throw new ClientError('forbidden', `the token does not grant event "${event}"`);
  if (roles && !roles.includes(claims.role)) throw new ClientError('forbidden', `role "${claims.role}" may not do this`);
}
