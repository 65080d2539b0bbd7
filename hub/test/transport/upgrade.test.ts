import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Claims } from '@opshub/schema';
import { AuthError, hs256Verifier, jwksVerifier, type TokenVerifier } from '../../src/auth/token-verifier.ts';
import { loadNativeUws } from '../../src/native-uws.ts';
import { readHandshake, UpgradeRefusal, upgradeAuthenticated } from '../../src/transport/upgrade.ts';
import { minter } from '../support/test-hub.ts';

const claims: Claims = { sub: 'ana', role: 'staff', events: ['expo'] };

/** A bare uWS app whose `/ws` upgrades through `upgradeAuthenticated` and echoes; records how each upgrade went. */
async function echoServer(verifier: TokenVerifier, accept: (claims: Claims) => { sub: string } | UpgradeRefusal = (c) => ({ sub: c.sub })) {
  const uws = loadNativeUws();
  const seen = { acceptedInsideHandler: 0, acceptedLater: 0 };
  let insideHandler = false;
  const app = uws.App().ws<{ sub: string }>('/ws', {
    upgrade: (res, req, context) => {
      insideHandler = true;
      upgradeAuthenticated(res, context, readHandshake(req), verifier, (c) => {
        if (insideHandler) seen.acceptedInsideHandler++;
        else seen.acceptedLater++;
        return accept(c);
      });
      insideHandler = false;
    },
    message: (ws, message) => void ws.send(`${ws.getUserData().sub}:${Buffer.from(message).toString()}`),
  });
  const listen = await new Promise<unknown>((resolve) => app.listen('127.0.0.1', 0, resolve));
  const port = uws.us_socket_local_port(listen as never);
  return { url: `ws://127.0.0.1:${port}/ws`, seen, close: () => uws.us_listen_socket_close(listen as never) };
}

/** Opens a socket and sends one frame: resolves with the echo, or with how the upgrade or socket ended. */
function roundTrip(url: string, token?: string): Promise<{ echo?: string; status?: number; body?: string; closed?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(token ? `${url}?token=${token}` : url);
    socket.once('open', () => socket.send('hi'));
    socket.once('message', (data) => {
      resolve({ echo: data.toString() });
      socket.close();
    });
    socket.once('close', (code) => resolve({ closed: code }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    socket.once('error', () => {});
  });
}

const servers: { close(): void }[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

describe('WebSocket upgrades behind a token', () => {
  it('completes inside the upgrade handler when the verifier can decide at once, for every one of many concurrent sockets', async () => {
    // `verify` must not be reached: an upgrade completed after an await runs into the uWS cork bug (see upgrade.ts).
    const server = await echoServer({ verifyNow: (t) => minter.verifyNow(t), verify: () => Promise.reject(new Error('async path taken')) });
    servers.push(server);
    const token = await minter.mint(claims);
    const results = await Promise.all(Array.from({ length: 400 }, () => roundTrip(server.url, token)));
    expect(results.filter((r) => r.echo !== 'ana:hi')).toEqual([]);
    expect(server.seen).toEqual({ acceptedInsideHandler: 400, acceptedLater: 0 });
  });

  it('decides a JWKS token seen for the first time inside the handler once the key set is loaded; only a key not fetched yet waits', async () => {
    const first = await generateKeyPair('ES256');
    const rotated = await generateKeyPair('EdDSA');
    let keys = [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'ES256' }];
    const idp = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => idp.close() });
    const issuer = 'https://idp.test/';
    const jwks = jwksVerifier({ jwksUrl: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`, issuer, audience: 'opshub', jwksOptions: { cooldownDuration: 0 } });
    const sign = (sub: string, key: CryptoKey, protectedHeader: { alg: string; kid: string }) =>
      new SignJWT({ ...claims, sub }).setProtectedHeader(protectedHeader).setIssuer(issuer).setAudience('opshub').setExpirationTime('5m').sign(key);
    let verifyCalls = 0;
    const server = await echoServer({ verifyNow: (t) => jwks.verifyNow(t), verify: (t) => (verifyCalls++, jwks.verify(t)) });
    servers.push(server);
    await jwks.ready;

    // Every token is new to the hub, but its key is in the loaded set: no upgrade waits.
    const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => sign(`u${i}`, first.privateKey, { alg: 'ES256', kid: 'k1' })));
    const results = await Promise.all(tokens.map((token) => roundTrip(server.url, token)));
    expect(results.filter((r, i) => r.echo !== `u${i}:hi`)).toEqual([]);
    expect(server.seen).toEqual({ acceptedInsideHandler: 100, acceptedLater: 0 });
    expect(verifyCalls).toBe(0);

    // The provider rotates in k2: its first token waits for the fetch, the next is decided inside the handler again.
    keys = [...keys, { ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'EdDSA' }];
    expect(await roundTrip(server.url, await sign('bea', rotated.privateKey, { alg: 'EdDSA', kid: 'k2' }))).toEqual({ echo: 'bea:hi' });
    expect(await roundTrip(server.url, await sign('cy', rotated.privateKey, { alg: 'EdDSA', kid: 'k2' }))).toEqual({ echo: 'cy:hi' });
    expect(server.seen).toEqual({ acceptedInsideHandler: 101, acceptedLater: 1 });
    expect(verifyCalls).toBe(1);
  });

  it('waits for the verifier when it cannot decide at once (a JWKS token whose key the hub has not fetched yet)', async () => {
    const server = await echoServer({ verifyNow: () => undefined, verify: (t) => minter.verify(t) });
    servers.push(server);
    const results = await Promise.all(Array.from({ length: 20 }, async () => roundTrip(server.url, await minter.mint(claims))));
    expect(results.filter((r) => r.echo !== 'ana:hi')).toEqual([]);
    expect(server.seen).toEqual({ acceptedInsideHandler: 0, acceptedLater: 20 });
  });

  it('answers 401 with the reason for a missing, forged or late-refused token, and the refusal the acceptor names', async () => {
    const forged = await hs256Verifier('another-secret-that-is-long-enough').mint(claims);
    const sync = await echoServer(minter);
    const later = await echoServer({ verifyNow: () => undefined, verify: () => Promise.reject(new AuthError('token expired')) });
    const refusing = await echoServer(minter, () => new UpgradeRefusal('503 Service Unavailable', 'unavailable', 'hub shutting down'));
    servers.push(sync, later, refusing);

    expect(await roundTrip(sync.url)).toMatchObject({ status: 401, body: expect.stringContaining('a token is required') });
    expect(await roundTrip(sync.url, forged)).toMatchObject({ status: 401, body: expect.stringContaining('ERR_JWS_SIGNATURE_VERIFICATION_FAILED') });
    expect(await roundTrip(later.url, 'whatever')).toMatchObject({ status: 401, body: expect.stringContaining('token expired') });
    expect(await roundTrip(refusing.url, await minter.mint(claims))).toMatchObject({ status: 503, body: expect.stringContaining('hub shutting down') });
    expect(sync.seen.acceptedInsideHandler + later.seen.acceptedLater).toBe(0);
  });

  it('lets a client hang up while its token is still being verified, and serves the next one', async () => {
    let releaseFirst: (c: Claims) => void = () => {};
    let calls = 0;
    const verify = (): Promise<Claims> => (++calls === 1 ? new Promise((resolve) => (releaseFirst = resolve)) : Promise.resolve(claims));
    const server = await echoServer({ verifyNow: () => undefined, verify });
    servers.push(server);
    const socket = new WebSocket(`${server.url}?token=first`);
    socket.once('error', () => {});
    await until(() => calls === 1);
    socket.terminate();
    await new Promise((resolve) => setTimeout(resolve, 100));
    releaseFirst(claims); // the aborted response must not be touched: uWS throws on a response after onAborted
    expect(await roundTrip(server.url, 'second')).toEqual({ echo: 'ana:hi' });
    expect(server.seen).toEqual({ acceptedInsideHandler: 0, acceptedLater: 1 });
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
