import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
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

describe('extractToken', () => {
  it('prefers the Bearer header over the query', () => {
    expect(extractToken('Bearer abc', 'q')).toBe('abc');
    expect(extractToken('', 'q')).toBe('q');
    expect(extractToken('Basic zzz', '')).toBeUndefined();
  });
});
