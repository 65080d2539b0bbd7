/**
 * What the synchronous verifiers (`hs256-jws.ts`, `jwks-jws.ts`) share: splitting a compact JWS, the time claims,
 * and the error both throw. Each follows jose's checks so that a token reads the same on either path.
 */

/** Why a compact JWS was refused; `code` uses jose's error codes so both paths read the same in logs. */
export class JwsRejection extends Error {
  override readonly name = 'JwsRejection';
  constructor(
    readonly code:
      | 'ERR_JWS_INVALID'
      | 'ERR_JOSE_ALG_NOT_ALLOWED'
      | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
      | 'ERR_JWT_INVALID'
      | 'ERR_JWT_EXPIRED'
      | 'ERR_JWT_CLAIM_VALIDATION_FAILED'
      | 'ERR_JWKS_INVALID'
      | 'ERR_JWK_INVALID'
      | 'ERR_JWKS_NO_MATCHING_KEY'
      | 'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
    message: string,
  ) {
    super(message);
  }
}

export interface CompactJws {
  readonly header: Record<string, unknown>;
  /** The bytes the signature covers: `header.payload` exactly as they arrived. */
  readonly signingInput: string;
  readonly encodedPayload: string;
  readonly signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Splits a compact JWS and decodes its protected header. Refuses anything but three unpadded base64url segments,
 * a header that is not a JSON object, and the `crit`/`b64` extensions: they change what the signature covers (b64)
 * or demand understanding (crit), so refusing beats guessing.
 *
 * @example const { header, signingInput, signature } = decodeCompactJws(token); // header.alg === 'ES256'
 */
export function decodeCompactJws(token: string): CompactJws {
  const parts = token.split('.');
  // A base64url length of 4n+1 cannot be decoded (jose refuses it; Buffer would silently drop the last character).
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p) && p.length % 4 !== 1)) throw new JwsRejection('ERR_JWS_INVALID', 'not a compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = decodeJsonObject(encodedHeader);
  if (!header) throw new JwsRejection('ERR_JWS_INVALID', 'the protected header is not a JSON object');
  if ('crit' in header || 'b64' in header) throw new JwsRejection('ERR_JWS_INVALID', 'JWS extensions are not supported');
  return { header, signingInput: `${encodedHeader}.${encodedPayload}`, encodedPayload, signature: Buffer.from(encodedSignature, 'base64url') };
}

/** The claims of a verified JWS: a JSON object, or ERR_JWT_INVALID. */
export function decodeClaims(encodedPayload: string): Record<string, unknown> {
  const payload = decodeJsonObject(encodedPayload);
  if (!payload) throw new JwsRejection('ERR_JWT_INVALID', 'the payload is not a JSON object');
  return payload;
}

/**
 * `iat`, `nbf` and `exp`, in jose's order and with no clock tolerance: numbers when present, not before `nbf`,
 * expired from the second `exp` names.
 */
export function checkTimeClaims(payload: Record<string, unknown>, nowSeconds: number): void {
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    if (claim in payload && typeof payload[claim] !== 'number') throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', `"${claim}" claim must be a number`);
  }
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds) throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', '"nbf" claim timestamp check failed');
  if (typeof payload.exp === 'number' && payload.exp <= nowSeconds) throw new JwsRejection('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed');
}

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(segment, 'base64url')));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
