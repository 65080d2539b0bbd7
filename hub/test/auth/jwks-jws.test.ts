import { constants, createHmac, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { JwsRejection } from '../../src/auth/compact-jws.ts';
import { JWKS_ALGORITHMS, JwkSet, verifyWithJwks, type JwksAlgorithm } from '../../src/auth/jwks-jws.ts';

const expected = { issuer: 'https://idp.test/', audience: 'opshub' };
const now = Math.floor(Date.now() / 1000);
const claims = { sub: 'ana', role: 'staff', events: ['expo'], iss: expected.issuer, aud: expected.audience, iat: now, exp: now + 600 };
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs any header and payload with node:crypto for `alg`, so odd headers and keys jose would not sign with can be tested. */
function handSigned(alg: string, key: KeyObject, header: object, payload: unknown, options: { der?: boolean } = {}): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const data = Buffer.from(input);
  const digest = alg === 'EdDSA' || alg === 'Ed25519' ? null : `sha${alg.slice(2)}`;
  const signature =
    alg.startsWith('ES') ? sign(digest, data, { key, dsaEncoding: options.der ? 'der' : 'ieee-p1363' })
    : alg === 'PS256' ? sign(digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
    : sign(digest, data, key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Another allowed algorithm for the same kind of key: the one a JWK `alg` (or an EC curve) must rule out. */
const SIBLING: Record<JwksAlgorithm, string> = { RS256: 'RS384', RS384: 'RS512', RS512: 'PS256', PS256: 'RS256', ES256: 'ES384', ES384: 'ES256', EdDSA: 'Ed25519' };

type Case = [name: string, token: string, jwks: { keys: JWK[] }];

async function keyPair(alg: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { jwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey), privateKey, signingKey: KeyObject.from(privateKey) };
}

async function casesFor(alg: JwksAlgorithm): Promise<Case[]> {
  const { jwk, privateJwk, privateKey, signingKey } = await keyPair(alg);
  const other = await keyPair(alg);
  const foreign = await keyPair(alg === 'EdDSA' ? 'ES256' : 'EdDSA');
  const published: JWK = { ...jwk, kid: 'k1', alg, use: 'sig' };
  const set = { keys: [published, { ...foreign.jwk, kid: 'f1' }] };
  const only = (...keys: JWK[]) => ({ keys });
  const signed = (payload: unknown, header: object = { alg, kid: 'k1' }) => handSigned(alg, signingKey, header, payload);
  const good = signed(claims);
  const [h, p, s] = good.split('.') as [string, string, string];
  const flipped = Buffer.from(s, 'base64url');
  flipped[0]! ^= 1;
  const hmac = (secret: string | Buffer) => {
    const input = `${b64({ alg: 'HS256', kid: 'k1' })}.${p}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const publicPem = createPublicKey(signingKey).export({ type: 'spki', format: 'pem' }) as string;
  let longHeader = h;
  while (longHeader.length % 4 !== 1) longHeader += 'A';

  const cases: Case[] = [
    ['valid, signed by jose', await new SignJWT({ ...claims }).setProtectedHeader({ alg, kid: 'k1', typ: 'JWT' }).sign(privateKey), set],
    ['valid', good, set],
    ['valid without kid (one key fits)', signed(claims, { alg }), set],
    ['valid with an aud array holding the audience', signed({ ...claims, aud: ['other', expected.audience] }), set],
    ['valid without exp', signed({ ...claims, exp: undefined }), set],
    ['valid from a JWK without alg, use or kid', signed(claims, { alg }), only(jwk)],
    ['valid from a JWK whose key_ops is ["verify"]', good, only({ ...published, key_ops: ['verify'] })],
    ['valid: the kid picks one of two keys that fit', good, only(published, { ...other.jwk, kid: 'k2' })],
    ['valid with extra header parameters', signed(claims, { alg, kid: 'k1', typ: 'at+jwt', cty: 'JWT', x5t: 'abc' }), set],
    ['expired', signed({ ...claims, exp: now - 1 }), set],
    ['not yet valid (nbf in the future)', signed({ ...claims, nbf: now + 600 }), set],
    ['wrong iss', signed({ ...claims, iss: 'https://evil.test/' }), set],
    ['missing iss', signed({ ...claims, iss: undefined }), set],
    ['wrong aud', signed({ ...claims, aud: 'other' }), set],
    ['aud array without the audience', signed({ ...claims, aud: ['other', 'more'] }), set],
    ['missing aud', signed({ ...claims, aud: undefined }), set],
    ['exp a string', signed({ ...claims, exp: String(now + 600) }), set],
    ['nbf a string', signed({ ...claims, nbf: String(now - 10) }), set],
    ['iat a string', signed({ ...claims, iat: String(now) }), set],
    ['alg none', `${b64({ alg: 'none', kid: 'k1' })}.${p}.`, set],
    ['alg missing', signed(claims, { kid: 'k1' }), set],
    ['HS256 keyed with the public JWK (key confusion)', hmac(JSON.stringify(published)), set],
    ['HS256 keyed with the public key PEM (key confusion)', hmac(publicPem), set],
    [`header alg ${SIBLING[alg]} against a JWK whose alg is ${alg}`, handSigned(SIBLING[alg], signingKey, { alg: SIBLING[alg], kid: 'k1' }, claims), set],
    [`header alg ${SIBLING[alg]} against a JWK without alg`, handSigned(SIBLING[alg], signingKey, { alg: SIBLING[alg], kid: 'k1' }, claims), only({ ...jwk, kid: 'k1' })],
    ['unknown kid', signed(claims, { alg, kid: 'k9' }), set],
    ['kid a number', signed(claims, { alg, kid: 1 }), only({ ...jwk, kid: '1' })],
    ['the kid names a key of another type', signed(claims, { alg, kid: 'f1' }), set],
    ['two keys fit and the header names no kid', signed(claims, { alg }), only(jwk, other.jwk)],
    ['signed by another key under the same kid', handSigned(alg, other.signingKey, { alg, kid: 'k1' }, claims), set],
    ['a JWK whose use is enc', good, only({ ...published, use: 'enc' })],
    ['a JWK whose key_ops lacks verify', good, only({ ...published, key_ops: ['sign'] })],
    ['a JWK whose key_ops adds sign', good, only({ ...published, key_ops: ['verify', 'sign'] })],
    ['a private JWK in the set', good, only({ ...privateJwk, kid: 'k1', alg })],
    ['tampered payload', `${h}.${b64({ ...claims, role: 'admin' })}.${s}`, set],
    ['tampered signature', `${h}.${p}.${flipped.toString('base64url')}`, set],
    ['signature with a byte appended', `${h}.${p}.${Buffer.concat([Buffer.from(s, 'base64url'), Buffer.of(0)]).toString('base64url')}`, set],
    ['truncated signature', `${h}.${p}.${s.slice(0, 20)}`, set],
    ['no signature', `${h}.${p}.`, set],
    ['two segments', `${h}.${p}`, set],
    ['four segments', `${good}.x`, set],
    ['a segment of length 4n+1', `${longHeader}.${p}.${s}`, set],
    ['characters outside base64url', `${h}.${p}.${s.slice(0, -1)}+`, set],
    ['empty', '', set],
    ['crit header', signed(claims, { alg, kid: 'k1', crit: ['exp'], exp: 1 }), set],
    ['b64 false', signed(claims, { alg, kid: 'k1', b64: false, crit: ['b64'] }), set],
    ['payload an array', signed([claims]), set],
    ['payload not JSON', signed('{"sub":'), set],
    ['header not JSON', `${b64('{"alg":')}.${p}.${s}`, set],
  ];
  if (alg.startsWith('ES')) cases.push(['a DER-encoded ECDSA signature', handSigned(alg, signingKey, { alg, kid: 'k1' }, claims, { der: true }), set]);
  if (alg === 'PS256') {
    const input = `${b64({ alg, kid: 'k1' })}.${p}`;
    const shortSalt = sign('sha256', Buffer.from(input), { key: signingKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
    cases.push(['an RSA-PSS signature with a 20-byte salt', `${input}.${shortSalt.toString('base64url')}`, set]);
  }
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakJwk = { ...(weak.publicKey.export({ format: 'jwk' }) as JWK), kid: 'k1', alg };
    cases.push(['an RSA 1024-bit key', handSigned(alg, weak.privateKey, { alg, kid: 'k1' }, claims), only(weakJwk)]);
  }
  return cases;
}

const byAlg = await Promise.all(JWKS_ALGORITHMS.map(async (alg) => [alg, await casesFor(alg)] as const));

/**
 * Where the two refuse with different codes on purpose: both synchronous verifiers refuse every JWS extension as
 * malformed, while jose names an unknown `crit` unsupported and an unencoded payload an invalid JWT.
 */
const CODED_DIFFERENTLY: Record<string, string> = { 'crit header': 'ERR_JWS_INVALID', 'b64 false': 'ERR_JWS_INVALID' };

describe.each(byAlg)('%s tokens: the synchronous verifier agrees with jose', (_alg, cases) => {
  it.each(cases)('%s', async (name, token, jwks) => {
    const jose = await jwtVerify(token, createLocalJWKSet(jwks), { ...expected, algorithms: [...JWKS_ALGORITHMS] }).then(
      ({ payload }) => ({ accepted: payload as unknown }),
      // Some refusals are plain TypeErrors or DOMExceptions (an RSA key under 2048 bits, key_ops WebCrypto refuses).
      (error: { code?: unknown }) => ({ rejected: typeof error.code === 'string' && error.code.startsWith('ERR_') ? error.code : 'not a JOSE error' }),
    );
    let ours: { accepted: unknown } | { rejected: string };
    try {
      ours = { accepted: verifyWithJwks(token, new JwkSet(jwks), expected) };
    } catch (error) {
      expect(error).toBeInstanceOf(JwsRejection);
      ours = { rejected: (error as JwsRejection).code };
    }
    if ('rejected' in jose && 'rejected' in ours) {
      if (jose.rejected !== 'not a JOSE error') expect(ours.rejected).toBe(CODED_DIFFERENTLY[name] ?? jose.rejected);
    } else {
      expect(ours).toEqual(jose);
    }
  });

  it('accepts its own valid token (so the agreement above is not all refusals)', () => {
    const valid = cases.filter(([name]) => name.startsWith('valid'));
    expect(valid.length).toBeGreaterThan(5);
    for (const [, token, jwks] of valid) expect(verifyWithJwks(token, new JwkSet(jwks), expected)).toMatchObject({ sub: 'ana' });
  });
});

describe('JwkSet', () => {
  it('imports each key once, however many tokens it verifies', async () => {
    const { jwk } = await keyPair('ES256');
    const keys = new JwkSet({ keys: [{ ...jwk, kid: 'k1' }] });
    const first = keys.keyFor({ alg: 'ES256', kid: 'k1' });
    expect(keys.keyFor({ alg: 'ES256' })).toBe(first);
    expect(first.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('names why a token is refused with jose error codes', async () => {
    const { jwk, signingKey } = await keyPair('PS256');
    const keys = new JwkSet({ keys: [{ ...jwk, kid: 'k1' }] });
    const code = (token: string) => {
      try {
        verifyWithJwks(token, keys, expected);
        return 'accepted';
      } catch (error) {
        return (error as JwsRejection).code;
      }
    };
    expect(code(handSigned('PS256', signingKey, { alg: 'PS256', kid: 'k1' }, { ...claims, exp: now - 1 }))).toBe('ERR_JWT_EXPIRED');
    expect(code(handSigned('PS256', signingKey, { alg: 'PS256', kid: 'k2' }, claims))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(code(handSigned('PS256', signingKey, { alg: 'PS256', kid: 'k1' }, { ...claims, aud: 'x' }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(code(`${b64({ alg: 'none' })}.${b64(claims)}.`)).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect(code('a.b')).toBe('ERR_JWS_INVALID');
    expect(() => new JwkSet({ keys: 'nope' })).toThrow(JwsRejection);
  });
});
