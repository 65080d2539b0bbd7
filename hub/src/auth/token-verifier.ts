import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { Claims } from '@opshub/schema';
import type { Config } from '../config.ts';

/** A token that is missing, malformed, forged, expired or carries claims outside the contract. Answered with 401. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
}

export interface TokenVerifier {
  /** Verifies the signature and expiry, then the claims against the contract. Throws {@link AuthError}. */
  verify(token: string): Promise<Claims>;
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
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: [HS256] });
        return parseClaims(payload);
      } catch (error) {
        throw toAuthError(error);
      }
    },
    async mint(claims, ttl = '12h') {
      return new SignJWT({ ...Claims.parse(claims) }).setProtectedHeader({ alg: HS256 }).setIssuedAt().setExpirationTime(ttl).sign(key);
    },
  };
}

/** A verifier for tokens from an OIDC identity provider, keys fetched (and cached) from its JWKS endpoint. */
export function jwksVerifier(options: { jwksUrl: string; issuer: string; audience: string; keys?: JWTVerifyGetKey }): TokenVerifier {
  const keys = options.keys ?? createRemoteJWKSet(new URL(options.jwksUrl));
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'],
        });
        return parseClaims(payload);
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
  if (error instanceof joseErrors.JWTExpired) return new AuthError('token expired');
  if (error instanceof joseErrors.JOSEError) return new AuthError(`token rejected: ${error.code}`);
  return new AuthError('token rejected');
}

/** The token of a request: `Authorization: Bearer …` wins over the `token` query parameter. */
export function extractToken(authorization: string, queryToken: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (bearer) return bearer[1];
  return queryToken || undefined;
}
