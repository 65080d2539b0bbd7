import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createRemoteJWKSet, errors as joseErrors, SignJWT, type RemoteJWKSetOptions } from 'jose';
import { Claims } from '@opshub/schema';
import type { Config } from '../config.ts';
import { readOrCreateFile } from '../files/read-or-create-file.ts';
import { JwsRejection } from './compact-jws.ts';
import { verifyHs256 } from './hs256-jws.ts';
import { JwkSet, verifyWithJwks } from './jwks-jws.ts';

/** A token that is missing, malformed, forged, expired or carries claims outside the contract. Answered with 401. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
}

export interface TokenVerifier {
  /** Verifies the signature and expiry, then the claims against the contract. Throws {@link AuthError}. */
  verify(token: string): Promise<Claims>;
  /**
   * The same decision without waiting, where the verifier can make it: the claims, or throws {@link AuthError};
   * `undefined` when only `verify` can tell (a JWKS token whose signing key the hub has not fetched yet). WebSocket
   * upgrades use it to complete inside uWS's request handler (see transport/upgrade.ts).
   */
  verifyNow(token: string): Claims | undefined;
  /** Mints a token (HS256 only: with an identity provider the hub cannot sign). */
  mint?(claims: Claims, ttl?: string): Promise<string>;
}

const SECRET_FILE = 'jwt-secret';
/** As HUB_JWT_SECRET requires (config.ts). */
const MIN_SECRET_CHARS = 32;
/** HS256 tokens carry no issuer requirement, so that tokens minted by external tests with the shared secret verify. */
const HS256 = 'HS256';

/**
 * The secret for HS256 tokens: `HUB_JWT_SECRET`, or one generated once into `DATA_DIR/jwt-secret` (mode 0600).
 * Two processes starting at once agree on one secret: the file is written whole under a temporary name and linked
 * into place, so it is either absent or complete (a reader never sees it half-written, and never an empty secret).
 * @example const secret = await loadOrCreateSecret('./data'); // same value on every later start
 */
export async function loadOrCreateSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, SECRET_FILE);
  const secret = (await readOrCreateFile(file, () => randomBytes(48).toString('base64url') + '\n')).trim();
  if (secret.length < MIN_SECRET_CHARS) {
    throw new Error(`${file} holds no usable secret (${secret.length} characters, at least ${MIN_SECRET_CHARS} needed): delete it to have a new one generated, or set HUB_JWT_SECRET`);
  }
  return secret;
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
      const { exp: _exp, iat: _iat, ...rest } = Claims.parse(claims);
      return new SignJWT({ ...rest }).setProtectedHeader({ alg: HS256 }).setJti(rest.jti ?? randomUUID()).setIssuedAt().setExpirationTime(ttl).sign(key);
    },
  };
}

/**
 * A verifier for tokens from an OIDC identity provider, keys fetched (and cached) from its JWKS endpoint by jose's
 * createRemoteJWKSet, whose fetching, cache age and cooldown this keeps. Every decision is made synchronously by
 * `verifyWithJwks` (jwks-jws.ts) against the set last fetched, so `verifyNow` decides any token whose signing key
 * the hub already has, including one it has never seen. It leaves to `verify` only what needs a fetch: the set
 * not loaded yet or older than jose's cache age, or a `kid` it does not hold (the provider may have rotated keys).
 * The set starts loading at once; `ready` settles when that first fetch does (it never rejects: if the provider is
 * down then, the first `verify` fetches again).
 *
 * @example const verifier = jwksVerifier({ jwksUrl: 'https://idp.example/jwks', issuer: 'https://idp.example/', audience: 'opshub' });
 */
export function jwksVerifier(options: {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** jose's createRemoteJWKSet options (fetch timeout, cooldown, cache age); tests shorten the cooldown. */
  jwksOptions?: RemoteJWKSetOptions;
}): TokenVerifier & { readonly ready: Promise<void> } {
  const remote = createRemoteJWKSet(new URL(options.jwksUrl), options.jwksOptions);
  const expected = { issuer: options.issuer, audience: options.audience };
  // The JSON the keys were built from, so that a reload serving the same set keeps the imported keys.
  let current: { json: string; keys: JwkSet } | undefined;
  const reload = async (): Promise<void> => {
    await remote.reload();
    const jwks = remote.jwks();
    const json = JSON.stringify(jwks);
    if (jwks && json !== current?.json) current = { json, keys: new JwkSet(jwks) };
  };
  const decide = (token: string): Claims => {
    if (!current) throw new JwsRejection('ERR_JWKS_NO_MATCHING_KEY', 'the JSON Web Key Set is not loaded');
    return parseClaims(verifyWithJwks(token, current.keys, expected));
  };
  // Refetched ahead of jose's cache age, so that the set is always fresh and `verifyNow` keeps deciding (a failed
  // refetch is retried by the next `verify`, as before).
  const refreshMs = (options.jwksOptions?.cacheMaxAge ?? DEFAULT_JWKS_CACHE_AGE_MS) / 2;
  if (Number.isFinite(refreshMs) && refreshMs >= MIN_REFRESH_MS) setInterval(() => reload().catch(() => {}), refreshMs).unref();
  return {
    ready: reload().catch(() => {}),
    verifyNow(token) {
      // A stale set is refreshed before it decides anything, as jose would: `verify` does that.
      if (!remote.fresh) return undefined;
      try {
        return decide(token);
      } catch (error) {
        if (noKey(error)) return undefined;
        throw toAuthError(error);
      }
    },
    async verify(token) {
      try {
        if (!remote.fresh) await reload();
        try {
          return decide(token);
        } catch (error) {
          // An unknown key may be a rotation: fetch again, unless the set was fetched moments ago (jose's cooldown).
          if (!noKey(error) || remote.coolingDown) throw error;
          await reload();
          return decide(token);
        }
      } catch (error) {
        throw toAuthError(error);
      }
    },
  };
}

/** jose's createRemoteJWKSet default `cacheMaxAge`. */
const DEFAULT_JWKS_CACHE_AGE_MS = 10 * 60_000;
/** Below this a cache age means "always refetch" (tests): no timer then. */
const MIN_REFRESH_MS = 500;

const noKey = (error: unknown) => error instanceof JwsRejection && error.code === 'ERR_JWKS_NO_MATCHING_KEY';

/** Chooses the verifier the configuration asks for. */
export async function createTokenVerifier(config: Pick<Config, 'auth' | 'dataDir'>): Promise<TokenVerifier> {
  if (config.auth.kind === 'jwks') {
    // Waiting for the first fetch (bounded by jose's fetch timeout) lets the first connections upgrade synchronously.
    const verifier = jwksVerifier(config.auth);
    await verifier.ready;
    return verifier;
  }
  return hs256Verifier(config.auth.secret ?? (await loadOrCreateSecret(config.dataDir)));
}

function parseClaims(payload: unknown): Claims {
  const parsed = Claims.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AuthError(`token claims are invalid: ${issue?.path.join('.') || 'claims'}: ${issue?.message ?? 'invalid'}`);
  }
  // A token that never expires would outlive any staff change: refused (issue #11). Claims beyond the contract and
  // the session's exp, iat and jti (iss, aud, nbf…) are dropped here so nothing downstream depends on them.
  if (parsed.data.exp === undefined) throw new AuthError('token rejected: it has no exp (tokens must expire)');
  return parsed.data;
}

function toAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof JwsRejection) return new AuthError(error.code === 'ERR_JWT_EXPIRED' ? 'token expired' : `token rejected: ${error.code}`);
  // Fetching the key set failed (provider down, not a key set): jose's JOSEError says which.
  if (error instanceof joseErrors.JOSEError) return new AuthError(`token rejected: ${error.code}`);
  return new AuthError('token rejected');
}

/** The token of a request: `Authorization: Bearer …` wins over the `token` query parameter. */
export function extractToken(authorization: string, queryToken: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (bearer) return bearer[1];
  return queryToken || undefined;
}
