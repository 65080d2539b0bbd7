import { createHmac, timingSafeEqual } from 'node:crypto';
import { checkTimeClaims, decodeClaims, decodeCompactJws, JwsRejection } from './compact-jws.ts';

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
  const { header, signingInput, encodedPayload, signature } = decodeCompactJws(token);
  if (header.alg !== 'HS256') throw new JwsRejection('ERR_JOSE_ALG_NOT_ALLOWED', `"alg" ${JSON.stringify(header.alg)} is not allowed`);
  const expected = createHmac('sha256', key).update(signingInput).digest();
  if (signature.length !== SIGNATURE_BYTES || !timingSafeEqual(signature, expected)) {
    throw new JwsRejection('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
  }
  const payload = decodeClaims(encodedPayload);
  checkTimeClaims(payload, nowSeconds);
  return payload;
}
