import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { Claims } from '@opshub/schema';
import type { Config } from '../config.ts';
import { JwsRejection, verifyHs256 } from './hs256-jws.ts';

/** A token that is missing, malformed, forged, expired or carries claims outside the contract. Answered with 401. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
}

export interface TokenVerifier {
  /** Verifies the signature and expiry, then the claims against the contract. Throws {@link AuthError}. */
  verify(token: string): Promise<Claims>;
  /**
   * The same decision without waiting, where the verifier can make it: the claims, or throws {@link AuthError};
   * `undefined` when only `verify` can tell (a JWKS token not seen recently). WebSocket upgrades use it to complete
   * inside uWS's request handler (see transport/upgrade.ts).
   */
  verifyNow(token: string): Claims | undefined;
  /** Mints a token (HS256 only: with an identity provider the hub cannot sign). */
  mint?(claims: Claims, ttl?: string): Promise<string>;
}

const SECRET_FILE = 'jwt-secret';
/** HS256 tokens carry no issuer requirement, so that tokens minted by external tests with the shared secret verify. */
const HS256 = 'HS256';

/**
 * The secret for HS256 tokens: `HUB_JWT_SECRET`, or one generated once into `DATA_DIR/jwt-secret` (mode 0600).
 * @example const secret = await loadOrCreateSecret('./data'); // same value on every later start
 */
export async function loadOrCreateSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, SECRET_FILE);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  try {
    // `wx` so two processes starting at once cannot each write a different secret.
    await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw error;
  }
}

/** An HS256 verifier and minter over a shared secret. */
export function hs256Verifier(secret: string): Required<TokenVerifier> {
  const key = new TextEncoder().encode(secret);
  // HMAC needs no key lookup, so every HS256 decision is synchronous; `verify` is the same decision as a promise.
  const verifyNow = (token: string): Claims => {
    try {
      return parseClaims(verifyHs256(token, key));
    } catch (error) {
      throw toAuthError(error);
    }
  };
  return {
    verifyNow,
    async verify(token) {
      return verifyNow(token);
    },
    async mint(claims, ttl = '12h') {
      return new SignJWT({ ...Claims.parse(claims) }).setProtectedHeader({ alg: HS256 }).setIssuedAt().setExpirationTime(ttl).sign(key);
    },
  };
}

/** How long a JWKS token verified once is believed again without a key lookup (at most until it expires). */
const REMEMBER_VERIFIED_MS = 5 * 60_000;
const REMEMBERED_TOKENS = 20_000;

/**
 * A verifier for tokens from an OIDC identity provider, keys fetched (and cached) from its JWKS endpoint. The key
 * lookup may fetch, so only `verify` decides a token seen for the first time; `verifyNow` answers for tokens it
 * verified in the last few minutes (a reconnecting console or gate), so their upgrades stay synchronous.
 */
export function jwksVerifier(options: { jwksUrl: string; issuer: string; audience: string; keys?: JWTVerifyGetKey }): TokenVerifier {
  const keys = options.keys ?? createRemoteJWKSet(new URL(options.jwksUrl));
  const verified = new Map<string, { claims: Claims; until: number }>();
  return {
    verifyNow(token) {
      const known = verified.get(token);
      if (!known) return undefined;
      if (known.until > Date.now()) return known.claims;
      verified.delete(token);
      return undefined;
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'],
        });
        const claims = parseClaims(payload);
        // Map order is insertion order: drop the oldest when full.
        if (verified.size >= REMEMBERED_TOKENS) verified.delete(verified.keys().next().value!);
        const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity;
        verified.set(token, { claims, until: Math.min(Date.now() + REMEMBER_VERIFIED_MS, expiresAt) });
        return claims;
      } catch (error) {
        throw toAuthError(error);
      }
    },
  };
}

/** Chooses the verifier the configuration asks for. */
export async function createTokenVerifier(config: Pick<Config, 'auth' | 'dataDir'>): Promise<TokenVerifier> {
  if (config.auth.kind === 'jwks') return jwksVerifier(config.auth);
  return hs256Verifier(config.auth.secret ?? (await loadOrCreateSecret(config.dataDir)));
}

function parseClaims(payload: unknown): Claims {
  const parsed = Claims.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AuthError(`token claims are invalid: ${issue?.path.join('.') || 'claims'}: ${issue?.message ?? 'invalid'}`);
  }
  // Claims beyond the contract (iat, exp, iss…) are dropped here so nothing downstream depends on them.
  return parsed.data;
}

function toAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof joseErrors.JWTExpired || (error instanceof JwsRejection && error.code === 'ERR_JWT_EXPIRED')) return new AuthError('token expired');
  if (error instanceof JwsRejection) return new AuthError(`token rejected: ${error.code}`);
  if (error instanceof joseErrors.JOSEError) return new AuthError(`token rejected: ${error.code}`);
  return new AuthError('token rejected');
}

/** The token of a request: `Authorization: Bearer …` wins over the `token` query parameter. */
export function extractToken(authorization: string, queryToken: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (bearer) return bearer[1];
  return queryToken || undefined;
}
