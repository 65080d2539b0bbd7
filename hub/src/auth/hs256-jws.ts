import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a compact HS256 JWS was refused; `code` uses jose's error codes so both paths read the same in logs. */
export class JwsRejection extends Error {
  override readonly name = 'JwsRejection';
  constructor(
    readonly code: 'ERR_JWS_INVALID' | 'ERR_JOSE_ALG_NOT_ALLOWED' | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' | 'ERR_JWT_INVALID' | 'ERR_JWT_EXPIRED' | 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    message: string,
  ) {
    super(message);
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const SIGNATURE_BYTES = 32;

/**
 * Verifies a compact HS256 JWT synchronously and returns its payload: header `alg` exactly HS256 (no `none`, no
 * other algorithm, no `crit`/`b64` extensions), the HMAC compared in constant time, `exp` and `nbf` checked when
 * present (numbers, as jose requires). The WebSocket upgrades use this so they can complete inside uWS's request
 * handler: see transport/upgrade.ts for why an upgrade must not wait for a promise.
 *
 * @example const payload = verifyHs256(token, Buffer.from(secret)); // { sub: 'ana', role: 'staff', ... }
 */
export function verifyHs256(token: string, key: Uint8Array, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) throw new JwsRejection('ERR_JWS_INVALID', 'not a compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = decodeJsonObject(encodedHeader);
  if (!header) throw new JwsRejection('ERR_JWS_INVALID', 'the protected header is not a JSON object');
  if (header.alg !== 'HS256') throw new JwsRejection('ERR_JOSE_ALG_NOT_ALLOWED', `"alg" ${JSON.stringify(header.alg)} is not allowed`);
  // Extensions change what the signature covers (b64) or demand understanding (crit): refuse rather than guess.
  if ('crit' in header || 'b64' in header) throw new JwsRejection('ERR_JWS_INVALID', 'JWS extensions are not supported');
  const signature = Buffer.from(encodedSignature, 'base64url');
  const expected = createHmac('sha256', key).update(`${encodedHeader}.${encodedPayload}`).digest();
  if (signature.length !== SIGNATURE_BYTES || !timingSafeEqual(signature, expected)) {
    throw new JwsRejection('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
  }
  const payload = decodeJsonObject(encodedPayload);
  if (!payload) throw new JwsRejection('ERR_JWT_INVALID', 'the payload is not a JSON object');
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    if (claim in payload && typeof payload[claim] !== 'number') throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', `"${claim}" must be a number`);
  }
  if (typeof payload.exp === 'number' && payload.exp <= nowSeconds) throw new JwsRejection('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed');
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds) throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', '"nbf" claim timestamp check failed');
  return payload;
}

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
