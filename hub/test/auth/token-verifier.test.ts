import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, extractToken, hs256Verifier, jwksVerifier, loadOrCreateSecret } from '../../src/auth/token-verifier.ts';

const secret = 'x'.repeat(40);
const claims = { sub: 'ana', role: 'staff' as const, events: ['expo'] };

describe('HS256 tokens', () => {
  const verifier = hs256Verifier(secret);

  it('round-trips the contract claims and drops the rest', async () => {
    const token = await verifier.mint({ ...claims, gate: 'g1' });
    expect(await verifier.verify(token)).toEqual({ ...claims, gate: 'g1' });
  });

  it.each([
    ['forged', async () => hs256Verifier('y'.repeat(40)).mint(claims)],
    ['expired', async () => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(new TextEncoder().encode(secret))],
    ['alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`],
    ['garbage', async () => 'not.a.token'],
    ['unknown role', async () => new SignJWT({ ...claims, role: 'root' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))],
    ['no events', async () => new SignJWT({ sub: 'a', role: 'staff' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))],
  ])('rejects a %s token', async (_, make) => {
    await expect(verifier.verify(await make())).rejects.toBeInstanceOf(AuthError);
  });

  it('says why an expired token failed', async () => {
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(Math.floor(Date.now() / 1000) - 3600).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(secret));
    await expect(verifier.verify(token)).rejects.toThrow(/expired/);
  });
});

describe('HS256 decided synchronously (verifyNow, which the upgrades use)', () => {
  const key = new TextEncoder().encode(secret);
  const now = Math.floor(Date.now() / 1000);
  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  /** A compact JWS over any header and payload, signed with HMAC-SHA256 by hand (so odd headers can be tested). */
  const handSigned = (header: unknown, payload: unknown, signWith: string = secret) => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac('sha256', signWith).update(input).digest('base64url')}`;
  };
  const good = handSigned({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now, exp: now + 600 });
  const [h, p, sig] = good.split('.') as [string, string, string];
  const cases: [string, string][] = [
    ['valid', good],
    ['valid without exp', handSigned({ alg: 'HS256' }, claims)],
    ['forged', handSigned({ alg: 'HS256' }, claims, 'z'.repeat(40))],
    ['expired', handSigned({ alg: 'HS256' }, { ...claims, exp: now - 1 })],
    ['not yet valid', handSigned({ alg: 'HS256' }, { ...claims, nbf: now + 600 })],
    ['exp as a string', handSigned({ alg: 'HS256' }, { ...claims, exp: String(now + 600) })],
    ['alg none', `${b64({ alg: 'none' })}.${p}.`],
    ['alg HS512 with the same secret', (() => { const i = `${b64({ alg: 'HS512' })}.${p}`; return `${i}.${createHmac('sha512', secret).update(i).digest('base64url')}`; })()],
    ['crit header', handSigned({ alg: 'HS256', crit: ['exp'] }, claims)],
    ['b64 false', handSigned({ alg: 'HS256', b64: false, crit: ['b64'] }, claims)],
    ['truncated signature', `${h}.${p}.${sig.slice(0, 20)}`],
    ['tampered payload', `${h}.${b64({ ...claims, role: 'admin' })}.${sig}`],
    ['payload an array', handSigned({ alg: 'HS256' }, [claims])],
    ['header not JSON', `${b64('{alg')}.${p}.${sig}`],
    ['two segments', `${h}.${p}`],
    ['four segments', `${good}.x`],
    ['characters outside base64url', `${h}.${p}.${sig.slice(0, -1)}+`],
    ['empty', ''],
  ];

  it.each(cases)('agrees with jose on a %s token', async (_, token) => {
    const jose = await jwtVerify(token, key, { algorithms: ['HS256'] }).then(() => 'accepted', () => 'rejected');
    const now = (() => {
      try {
        hs256Verifier(secret).verifyNow(token);
        return 'accepted';
      } catch (error) {
        expect(error).toBeInstanceOf(AuthError);
        return 'rejected';
      }
    })();
    expect(now).toBe(jose);
  });

  it('names the reason, as the async path does', async () => {
    const verifier = hs256Verifier(secret);
    expect(() => verifier.verifyNow(handSigned({ alg: 'HS256' }, { ...claims, exp: now - 1 }))).toThrow('token expired');
    expect(() => verifier.verifyNow(handSigned({ alg: 'HS256' }, claims, 'z'.repeat(40)))).toThrow('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    await expect(verifier.verify(handSigned({ alg: 'none' }, claims))).rejects.toThrow('ERR_JOSE_ALG_NOT_ALLOWED');
    expect(verifier.verifyNow(good)).toEqual(claims);
  });
});

describe('the generated secret', () => {
  it('is created once with mode 0600 and reused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opshub-secret-'));
    try {
      const [a, b] = await Promise.all([loadOrCreateSecret(dir), loadOrCreateSecret(dir)]);
      expect(a).toBe(b);
      expect(a.length).toBeGreaterThanOrEqual(48);
      expect(await loadOrCreateSecret(dir)).toBe(a);
      expect((await readFile(join(dir, 'jwt-secret'), 'utf8')).trim()).toBe(a);
      expect((await stat(join(dir, 'jwt-secret'))).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('JWKS tokens from an identity provider', () => {
  let server: Server;
  let jwksUrl: string;
  let sign: (payload: object, opts?: { issuer?: string; audience?: string }) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
    sign = (payload, opts = {}) =>
      new SignJWT({ ...payload })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(opts.issuer ?? 'https://idp.test/')
        .setAudience(opts.audience ?? 'opshub')
        .setExpirationTime('5m')
        .sign(privateKey);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('verifies a token signed by the provider and checks issuer and audience', async () => {
    const verifier = jwksVerifier({ jwksUrl, issuer: 'https://idp.test/', audience: 'opshub' });
    expect(await verifier.verify(await sign(claims))).toEqual(claims);
    await expect(verifier.verify(await sign(claims, { issuer: 'https://evil.test/' }))).rejects.toBeInstanceOf(AuthError);
    await expect(verifier.verify(await sign(claims, { audience: 'other' }))).rejects.toBeInstanceOf(AuthError);
    await expect(verifier.verify(await hs256Verifier(secret).mint(claims))).rejects.toBeInstanceOf(AuthError);
  });
});

describe('JWKS tokens decided synchronously', () => {
  it('only once verified, and only while the token is valid', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    let lookups = 0;
    const verifier = jwksVerifier({ jwksUrl: 'http://unused.invalid/', issuer: 'i', audience: 'a', keys: async () => (lookups++, publicKey) });
    const sign = (exp: number) => new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256' }).setIssuer('i').setAudience('a').setExpirationTime(exp).sign(privateKey);
    const token = await sign(Math.floor(Date.now() / 1000) + 600);
    expect(verifier.verifyNow(token)).toBeUndefined();
    expect(await verifier.verify(token)).toEqual(claims);
    expect(verifier.verifyNow(token)).toEqual(claims);
    expect(lookups).toBe(1);
    // A refused token is not remembered as anything: it stays for `verify` to refuse again.
    const wrongAudience = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256' }).setIssuer('i').setAudience('other').sign(privateKey);
    await expect(verifier.verify(wrongAudience)).rejects.toBeInstanceOf(AuthError);
    expect(verifier.verifyNow(wrongAudience)).toBeUndefined();
    // Remembered no longer than the token lives (exp two seconds ahead).
    const shortLived = await sign(Math.floor(Date.now() / 1000) + 2);
    await verifier.verify(shortLived);
    expect(verifier.verifyNow(shortLived)).toEqual(claims);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(verifier.verifyNow(shortLived)).toBeUndefined();
  });
});

describe('extractToken', () => {
  it('prefers the Bearer header over the query', () => {
    expect(extractToken('Bearer abc', 'q')).toBe('abc');
    expect(extractToken('', 'q')).toBe('q');
    expect(extractToken('Basic zzz', '')).toBeUndefined();
  });
});
