import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { checkTimeClaims, decodeClaims, decodeCompactJws, JwsRejection } from './compact-jws.ts';

/** The algorithms an identity provider's tokens may use (jose's names). HMAC and `none` are never among them. */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

interface Algorithm {
  /** The JWK `kty` and, for curves, `crv` a key must have (jose's key selection). */
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly crv?: string;
  /** null for EdDSA, which hashes internally. */
  readonly digest: string | null;
  /** Why an imported key cannot verify this algorithm, or undefined when it can. */
  readonly unfit: (key: KeyObject) => string | undefined;
  /** Fixed signature length (ECDSA r||s, Ed25519); RSA's depends on the key. */
  readonly signatureBytes?: number;
  readonly pss?: boolean;
}

/** jose refuses RSA moduli below 2048 bits for every RSA algorithm; so does this. */
const MIN_RSA_BITS = 2048;
const rsa = (digest: string, pss = false): Algorithm => ({
  kty: 'RSA',
  digest,
  pss,
  unfit: (key) => {
    if (key.asymmetricKeyType !== 'rsa') return 'not an RSA key';
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits < MIN_RSA_BITS ? `RSA keys must be ${MIN_RSA_BITS} bits or larger (this one has ${bits})` : undefined;
  },
});
const ecdsa = (crv: string, namedCurve: string, digest: string, signatureBytes: number): Algorithm => ({
  kty: 'EC',
  crv,
  digest,
  signatureBytes,
  unfit: (key) => (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === namedCurve ? undefined : `not a ${crv} key`),
});

const ALGORITHMS: Readonly<Record<JwksAlgorithm, Algorithm>> = {
  RS256: rsa('sha256'),
  RS384: rsa('sha384'),
  RS512: rsa('sha512'),
  PS256: rsa('sha256', true),
  ES256: ecdsa('P-256', 'prime256v1', 'sha256', 64),
  ES384: ecdsa('P-384', 'secp384r1', 'sha384', 96),
  EdDSA: { kty: 'OKP', crv: 'Ed25519', digest: null, signatureBytes: 64, unfit: (key) => (key.asymmetricKeyType === 'ed25519' ? undefined : 'not an Ed25519 key') },
};

const isAllowed = (alg: unknown): alg is JwksAlgorithm => typeof alg === 'string' && Object.hasOwn(ALGORITHMS, alg);

type Jwk = Readonly<Record<string, unknown>>;

/**
 * The public keys of a JSON Web Key Set, each imported into a KeyObject once (on first use) and reused for every
 * token after. Keys are chosen as jose's createLocalJWKSet chooses them, so a set behaves the same on either path.
 *
 * @example const keys = new JwkSet(await (await fetch(jwksUrl)).json()); verifyWithJwks(token, keys, expected);
 */
export class JwkSet {
  readonly #keys: readonly Jwk[];
  readonly #imported = new Map<Jwk, KeyObject | JwsRejection>();

  /** Throws ERR_JWKS_INVALID unless `jwks` is `{ keys: [objects] }`; the set is copied, so later edits do not leak in. */
  constructor(jwks: unknown) {
    if (!isPlainObject(jwks) || !Array.isArray(jwks.keys) || !jwks.keys.every(isPlainObject)) throw new JwsRejection('ERR_JWKS_INVALID', 'JSON Web Key Set malformed');
    this.#keys = structuredClone(jwks.keys as Jwk[]);
  }

  /**
   * The key that verifies a token with this protected header: the one usable key for its `alg` with its `kid`
   * (any `kid` when the header names none). Throws ERR_JWKS_NO_MATCHING_KEY when there is none (perhaps the set
   * is older than the token's key), ERR_JWKS_MULTIPLE_MATCHING_KEYS when the choice is ambiguous (jose 6 refuses
   * those too), ERR_JWKS_INVALID when the chosen member is not a public key.
   */
  keyFor(header: Readonly<Record<string, unknown>>): KeyObject {
    const alg = header.alg;
    if (!isAllowed(alg)) throw new JwsRejection('ERR_JOSE_ALG_NOT_ALLOWED', `"alg" ${JSON.stringify(alg)} is not allowed`);
    const candidates = this.#keys.filter((jwk) => usable(jwk, alg, header.kid));
    if (candidates.length === 0) throw new JwsRejection('ERR_JWKS_NO_MATCHING_KEY', 'no applicable key found in the JSON Web Key Set');
    if (candidates.length > 1) throw new JwsRejection('ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'multiple matching keys found in the JSON Web Key Set');
    const jwk = candidates[0]!;
    let imported = this.#imported.get(jwk);
    if (!imported) this.#imported.set(jwk, (imported = importPublic(jwk)));
    if (imported instanceof JwsRejection) throw imported;
    return imported;
  }
}

export interface JwtExpectations {
  readonly issuer: string;
  readonly audience: string;
}

/**
 * Verifies a compact JWT signed by one of `keys` synchronously (node:crypto only) and returns its payload, with the
 * checks jwtVerify makes for `{ issuer, audience, algorithms: JWKS_ALGORITHMS }`: `alg` one of JWKS_ALGORITHMS
 * (no `none`, no HMAC), no `crit`/`b64` extensions, a key that fits the algorithm (type, curve, `use`, `alg`,
 * RSA size), the signature (ECDSA in JOSE's r||s form), then `iss`, `aud` (a string, or an array holding it),
 * `iat`/`nbf`/`exp`. Throws {@link JwsRejection} with jose's error codes. The WebSocket upgrades use this so they
 * can complete inside uWS's request handler: see transport/upgrade.ts.
 *
 * @example const payload = verifyWithJwks(token, keys, { issuer: 'https://idp.example/', audience: 'opshub' });
 */
export function verifyWithJwks(token: string, keys: JwkSet, expected: JwtExpectations, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const { header, signingInput, encodedPayload, signature } = decodeCompactJws(token);
  const alg = header.alg;
  if (typeof alg !== 'string' || !alg) throw new JwsRejection('ERR_JWS_INVALID', '"alg" header parameter missing or invalid');
  if (!isAllowed(alg)) throw new JwsRejection('ERR_JOSE_ALG_NOT_ALLOWED', `"alg" ${JSON.stringify(alg)} is not allowed`);
  const algorithm = ALGORITHMS[alg];
  const key = keys.keyFor(header);
  const unfit = algorithm.unfit(key);
  if (unfit) throw new JwsRejection('ERR_JWK_INVALID', `the key cannot verify ${alg}: ${unfit}`);
  if (!verifies(algorithm, key, signingInput, signature)) throw new JwsRejection('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
  const payload = decodeClaims(encodedPayload);
  if (!Object.hasOwn(payload, 'iss')) throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', 'missing required "iss" claim');
  if (!Object.hasOwn(payload, 'aud')) throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', 'missing required "aud" claim');
  if (payload.iss !== expected.issuer) throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "iss" claim value');
  const aud = payload.aud;
  if (!(aud === expected.audience || (Array.isArray(aud) && aud.includes(expected.audience)))) {
    throw new JwsRejection('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "aud" claim value');
  }
  checkTimeClaims(payload, nowSeconds);
  return payload;
}

/** jose's `isUsableJWK`: a member may verify `alg` unless its type, curve, `kid`, `alg`, `use` or `key_ops` say otherwise. */
function usable(jwk: Jwk, alg: JwksAlgorithm, kid: unknown): boolean {
  const { kty, crv } = ALGORITHMS[alg];
  const ops = jwk.key_ops;
  return (
    (jwk.ext === undefined || typeof jwk.ext === 'boolean') &&
    (ops === undefined || (Array.isArray(ops) && ops.every((op, i) => typeof op === 'string' && ops.indexOf(op) === i) && ops.includes('verify'))) &&
    jwk.kty === kty &&
    (crv === undefined || jwk.crv === crv) &&
    (kid === undefined || (typeof kid === 'string' && kid === jwk.kid)) &&
    (jwk.alg === undefined || jwk.alg === alg) &&
    (jwk.use === undefined || jwk.use === 'sig')
  );
}

function importPublic(jwk: Jwk): KeyObject | JwsRejection {
  // createPublicKey would quietly derive the public half of a private JWK; a set that publishes one is broken.
  if ('d' in jwk) return new JwsRejection('ERR_JWKS_INVALID', 'JSON Web Key Set members must be public keys');
  // jose imports with `key_ops` as the WebCrypto usages, and a public key can only be used to verify.
  if (Array.isArray(jwk.key_ops) && jwk.key_ops.some((op) => op !== 'verify')) return new JwsRejection('ERR_JWKS_INVALID', 'a public key\'s "key_ops" can only be "verify"');
  try {
    return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    return new JwsRejection('ERR_JWKS_INVALID', `a JSON Web Key Set member cannot be imported: ${(error as Error).message}`);
  }
}

function verifies(algorithm: Algorithm, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  if (algorithm.signatureBytes !== undefined && signature.length !== algorithm.signatureBytes) return false;
  const data = Buffer.from(signingInput, 'latin1');
  try {
    if (algorithm.kty === 'EC') return verify(algorithm.digest, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    if (algorithm.pss) return verify(algorithm.digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    return verify(algorithm.digest, data, key, signature);
  } catch {
    // OpenSSL throws on some malformed signatures (e.g. longer than the modulus): still just a signature that fails.
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
