/**
 * Sessions end with their tokens (issue #11, item 7), on real hub processes sharing Redis and PostgreSQL:
 * a token without `exp` is refused; an open `/ws` and `/yjs` socket is closed with 4401 when its token expires;
 * revoking a subject (or one token by `jti`) closes its sockets on both hubs at once and refuses it from then on,
 * while other subjects' sockets stay open and a token minted after the revocation works.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CloseCode } from '@opshub/schema';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

const key = new TextEncoder().encode(testSecret);

describeWithService('DATABASE_URL', 'sessions end with their tokens', (databaseUrl) => {
  describeWithService('REDIS_URL', 'two hubs, one Redis, one PostgreSQL', (redisUrl) => {
    const schema = `opshub_trust_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const dirs: string[] = [];
    let a: HubProcess;
    let b: HubProcess;
    let admin: pg.Client;
    const opened: WebSocket[] = [];

    const adminToken = () => minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
    const staff = (sub: string, ttl = '1h') => new SignJWT({ role: 'staff', events: [event] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setJti(randomUUID()).setExpirationTime(ttl).sign(key);
    const revoke = async (body: unknown) => fetch(`${a.httpUrl}/api/v1/auth/revocations`, { method: 'POST', headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    /** A raw socket to `/yjs` or `/ws`, resolving on open with a promise of its close code. */
    const socket = async (url: string): Promise<{ ws: WebSocket; closed: Promise<number> }> => {
      const ws = new WebSocket(url);
      opened.push(ws);
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      });
      return { ws, closed };
    };
    const within = <T>(promise: Promise<T>, ms: number, what: string) =>
      Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))]);

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = async () => {
        const dir = await mkdtemp(join(tmpdir(), 'opshub-sessions-'));
        dirs.push(dir);
        return { REDIS_URL: redisUrl, DATABASE_URL: url.toString(), HUB_JWT_SECRET: testSecret, DATA_DIR: dir };
      };
      a = await startHubProcess(await env());
      b = await startHubProcess(await env());
      const res = await fetch(`${a.httpUrl}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await adminToken()}` },
        body: JSON.stringify({ id: event, name: 'Sessions', zones: [{ id: 'hall', name: 'Hall', capacity: 10 }], gates: [{ id: 'north', name: 'North', zone: 'hall' }] }),
      });
      expect(res.status).toBe(201);
    }, 180_000);

    afterAll(async () => {
      for (const ws of opened) ws.terminate();
      await Promise.all([a?.stop(), b?.stop()]);
      await admin?.query(`drop schema if exists "${schema}" cascade`);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('refuses a token without exp, before any upgrade and on REST', async () => {
      const forever = await new SignJWT({ role: 'admin', events: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('forever').sign(key);
      expect((await fetch(`${a.httpUrl}/api/v1/events/${event}`, { headers: { authorization: `Bearer ${forever}` } })).status).toBe(401);
      await expect(TestClient.connect(a.wsUrl, forever)).rejects.toMatchObject({ status: 401 });
    });

    it('closes /ws and /yjs sockets with 4401 when their token expires', async () => {
      const shortLived = await staff('short', '3s');
      const ws = await socket(`${a.wsUrl}?token=${shortLived}`);
      const yjs = await socket(`${a.httpUrl.replace('http', 'ws')}/yjs/event/${event}/gate?token=${shortLived}`);
      expect(await within(ws.closed, 15_000, '/ws close')).toBe(CloseCode.unauthorized);
      expect(await within(yjs.closed, 15_000, '/yjs close')).toBe(CloseCode.unauthorized);
    }, 30_000);

    it('revoking a subject closes its sockets on both hubs, refuses its tokens, and leaves others be', async () => {
      const ana = await staff('ana');
      const bob = await staff('bob');
      const anaOnA = await socket(`${a.wsUrl}?token=${ana}`);
      const anaOnB = await socket(`${b.wsUrl}?token=${ana}`);
      const anaYjsOnB = await socket(`${b.httpUrl.replace('http', 'ws')}/yjs/event/${event}/gate?token=${ana}`);
      const bobOnB = await TestClient.connect(b.wsUrl, bob);
      // The revocation is made on hub A; both hubs close ana's sockets within moments (bus signal, not the poll).
      const started = Date.now();
      const answer = await revoke({ sub: 'ana', reason: 'left the team' });
      expect(answer.status).toBe(201);
      const codes = await within(Promise.all([anaOnA.closed, anaOnB.closed, anaYjsOnB.closed]), 10_000, 'revoked sockets');
      expect(codes).toEqual([CloseCode.unauthorized, CloseCode.unauthorized, CloseCode.unauthorized]);
      console.log(`revocation: sockets on both hubs closed ${Date.now() - started} ms after the request`);
      // Refused from now on, on both hubs, for REST and upgrades.
      for (const hub of [a, b]) {
        expect((await fetch(`${hub.httpUrl}/api/v1/events/${event}`, { headers: { authorization: `Bearer ${ana}` } })).status).toBe(401);
        await expect(TestClient.connect(hub.wsUrl, ana)).rejects.toMatchObject({ status: 401 });
      }
      // Bob was not touched.
      bobOnB.send({ op: 'ping' });
      await bobOnB.next((f) => f.op === 'pong');
      // A token minted for ana after the revocation (a second later: iat has one-second resolution) works.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await fetch(`${b.httpUrl}/api/v1/events/${event}`, { headers: { authorization: `Bearer ${await staff('ana')}` } })).status).toBe(200);
      await bobOnB.close();
    }, 40_000);

    it('revoking one token by jti ends only that token', async () => {
      const [first, second] = [await minter.mint({ sub: 'cara', role: 'staff', events: [event] }), await minter.mint({ sub: 'cara', role: 'staff', events: [event] })];
      const jti = JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()).jti as string;
      const onB = await socket(`${b.wsUrl}?token=${first}`);
      const other = await TestClient.connect(b.wsUrl, second);
      expect((await revoke({ jti })).status).toBe(201);
      expect(await within(onB.closed, 10_000, 'jti socket')).toBe(CloseCode.unauthorized);
      other.send({ op: 'ping' });
      await other.next((f) => f.op === 'pong');
      await other.close();
      // Only an admin may end sessions, and the body is validated.
      const staffToken = await staff('dan');
      expect((await fetch(`${a.httpUrl}/api/v1/auth/revocations`, { method: 'POST', headers: { authorization: `Bearer ${staffToken}` }, body: JSON.stringify({ sub: 'x' }) })).status).toBe(403);
      expect((await revoke({ sub: 'x', jti: 'y' })).status).toBe(400);
    }, 30_000);
  });
});
