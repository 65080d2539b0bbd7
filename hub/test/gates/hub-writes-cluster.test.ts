/**
 * Hub writes to the gate doc across two hub processes on PostgreSQL and Redis, with meshed agents attached to both.
 * The defect this guards against: a roster write on hub A reached hub B's gates through the venue mesh before hub B
 * knew it (or before it was stored at all), and hub B refused those gates (4403 "writes outside scansById").
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../../../edge-agent/test/helpers.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { until } from './edge-fleet.ts';

const CODES = 120;
const code = (i: number) => `W${String(i).padStart(4, '0')}`;

describeWithService('DATABASE_URL', 'hub writes to the gate doc', (databaseUrl) => {
  describeWithService('REDIS_URL', 'two hubs, meshed agents on both', (redisUrl) => {
    const schema = `opshub_hubw_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `w${Date.now().toString(36)}`;
    const dirs: string[] = [];
    const agents = new Map<string, AgentProcess & { hub: 'a' | 'b'; data: string }>();
    let a: HubProcess;
    let b: HubProcess;
    let admin: pg.Client;
    let redisForB: TcpProxy;
    let token: string;

    const tempDir = async (prefix: string) => {
      const d = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    };
    const api = async (hub: HubProcess, method: string, path: string, body?: unknown): Promise<unknown> => {
      const res = await fetch(`${hub.httpUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const status = async (name: string) => (await (await fetch(`${agents.get(name)!.url}/status`)).json()) as { online: boolean; pending: number; tickets: number; peers: number };
    const lookup = async (name: string, q: string) =>
      ((await (await fetch(`${agents.get(name)!.url}/lookup?q=${encodeURIComponent(q)}&limit=1`)).json()) as { results: { code: string; holder: string; status: string }[] }).results[0];
    const startAgent = async (name: string, gate: string, hub: 'a' | 'b', peers: string[]) => {
      const gateToken = await minter.mint({ sub: name, role: 'gate', events: [event], gate });
      const hubUrl = `ws://127.0.0.1:${(hub === 'a' ? a : b).port}`;
      const data = agents.get(name)?.data ?? (await tempDir(`opshub-hubw-${name}-`));
      const args = ['--hub', hubUrl, '--event', event, '--gate', gate, '--token', gateToken, '--port', '0', '--host', '127.0.0.1', '--data', data, '--device', name];
      for (const peer of peers) args.push('--peer', peer);
      const agent = await spawnAgent(args);
      agents.set(name, { ...agent, hub, data });
      return `ws://${new URL(agent.url).host}`;
    };
    /** Every refusal a hub or an agent logged: what this suite must never see. */
    const refusals = () => [
      ...[a, b].flatMap((hub) => hub.output.filter((line) => line.includes('gate update rejected'))),
      // A hub refusing an agent (`hub …: rejected (closed 4403 …)`); peers' own mesh handshakes are another matter.
      ...[...agents.values()].flatMap((agent) => agent.output().split('\n').filter((line) => /hub .*(rejected|4403)/.test(line))),
    ];

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const redis = new URL(redisUrl);
      redisForB = await TcpProxy.start(redis.hostname, Number(redis.port || 6379));
      const env = async (redis: string) => ({ REDIS_URL: redis, DATABASE_URL: url.toString(), HUB_JWT_SECRET: testSecret, DATA_DIR: await tempDir('opshub-hubw-') });
      a = await startHubProcess(await env(redisUrl));
      b = await startHubProcess(await env(`redis://127.0.0.1:${redisForB.port}`));
      token = await minter.mint({ sub: 'ops', role: 'admin', events: ['*'] });
      await api(a, 'POST', '/events', {
        id: event,
        name: 'Two-hub expo',
        zones: [{ id: 'hall', name: 'Hall', capacity: 10_000 }],
        gates: [
          { id: 'north', name: 'North', zone: 'hall' },
          { id: 'south', name: 'South', zone: 'hall' },
        ],
      });
      await api(a, 'POST', `/events/${event}/tickets`, Array.from({ length: CODES }, (_, i) => ({ code: code(i), holder: `Holder ${i}` })));
      // A full mesh: each agent dials the ones started before it.
      const mesh: string[] = [];
      mesh.push(await startAgent('a1', 'north', 'a', [...mesh]));
      mesh.push(await startAgent('b1', 'north', 'b', [...mesh]));
      mesh.push(await startAgent('a2', 'south', 'a', [...mesh]));
      mesh.push(await startAgent('b2', 'south', 'b', [...mesh]));
      for (const name of agents.keys()) await until(() => status(name), (s) => s.online && s.tickets === CODES && s.peers === 3, `${name} online, meshed, roster in`, 30_000);
    }, 180_000);

    afterAll(async () => {
      if (process.env.DEBUG_HUBW) {
        for (const hub of [a, b]) console.log(hub?.output.filter((l) => /"level":(40|50)/.test(l) && !/ECONNRESET|unreachable/.test(l)).map((l) => l.slice(0, 600)).join('\n'));
        console.log((await admin.query(`select code, holder, status from "${schema}".tickets where code = 'W0040'`)).rows);
        for (const name of agents.keys()) console.log(name, await lookup(name, code(40)).catch(() => undefined));
      }
      for (const agent of agents.values()) {
        agent.child.kill('SIGKILL');
        await agent.exited;
      }
      await Promise.all([a?.stop(), b?.stop()]);
      await redisForB?.close();
      await admin?.query(`drop schema if exists "${schema}" cascade`);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('a revocation on hub A that reaches hub B’s gates through the mesh before the bus: hub B keeps them', async () => {
      // Hub B hears nothing from hub A over Redis now: the mesh is the only fast path from hub A to hub B's gates.
      redisForB.cut();
      try {
        await api(a, 'POST', `/events/${event}/tickets/${code(0)}/revoke`);
        for (const name of ['b1', 'b2']) await until(() => lookup(name, code(0)), (t) => t?.status === 'revoked', `${name} has the revocation`);
        // b1 and b2 relay it to hub B with their next sync; a scan forces one now.
        await fetch(`${agents.get('b1')!.url}/scan`, { method: 'POST', body: JSON.stringify({ code: code(1), dir: 'in' }) });
        await until(() => status('b1'), (s) => s.online && s.pending === 0, 'b1 synced with hub B');
        expect(refusals()).toEqual([]);
      } finally {
        redisForB.restore();
        // Hub B's Redis client reconnects with a backoff: the next test writes through hub B, which answers 503 while
        // its bus is down, so this one ends when hub B is back on Redis.
        await until(() => fetch(`${b.httpUrl}/healthz`).then((r) => r.status), (status) => status === 200, 'hub B back on Redis', 30_000);
      }
    }, 90_000);

    it('concurrent revocations on A, re-imports on B and scans everywhere, many rounds: no gate is ever refused, everyone agrees', async () => {
      const revoked = new Set<string>([code(0)]);
      let next = 10;
      for (let round = 1; round <= 6; round++) {
        const toRevoke = Array.from({ length: 4 }, (_, i) => code(70 + round * 4 + i));
        const reimport = Array.from({ length: 30 }, (_, i) => ({ code: code(i + 40), holder: `Holder ${i + 40} r${round}` }));
        await Promise.all([
          ...toRevoke.map((c) => api(a, 'POST', `/events/${event}/tickets/${c}/revoke`)),
          api(b, 'POST', `/events/${event}/tickets`, reimport),
          api(a, 'POST', `/events/${event}/tickets`, [{ code: code(200 + round), holder: `Late ${round} on A` }]),
          // Directives are hub writes into the same doc: changed on both hubs in the same moments.
          api(a, 'PUT', `/events/${event}/gates/south/state`, { state: round % 2 ? 'hold' : 'open', message: `round ${round}` }),
          api(b, 'PUT', `/events/${event}/zones/hall/state`, { enforce: round % 2 ? 'warn' : 'off' }),
          ...[...agents.keys()].filter((name) => name.endsWith('1')).map((name) =>
            fetch(`${agents.get(name)!.url}/scan`, { method: 'POST', body: JSON.stringify({ code: code(next++), dir: 'in' }) }).then((r) => expect(r.status).toBe(200)),
          ),
        ]);
        for (const c of toRevoke) revoked.add(c);
        for (const name of agents.keys()) {
          await until(() => lookup(name, code(40)), (t) => t?.holder === `Holder 40 r${round}`, `${name}: round ${round}'s re-import`);
          await until(() => lookup(name, toRevoke.at(-1)!), (t) => t?.status === 'revoked', `${name}: round ${round}'s revocations`);
        }
      }
      // Every agent in step with its hub, and every replica agrees with the Store on every ticket.
      const stored = await admin.query<{ code: string; holder: string; revoked: boolean }>(
        `select code, holder, status = 'revoked' as revoked from "${schema}".tickets where event_id = $1`,
        [event],
      );
      expect(stored.rows.length).toBe(CODES + 6);
      for (const name of agents.keys()) {
        await until(() => status(name), (s) => s.online && s.pending === 0 && s.tickets === CODES + 6, `${name} in step`);
        for (const row of stored.rows.filter((r, i) => i % 7 === 0 || r.revoked)) {
          const ticket = await lookup(name, row.code);
          expect({ code: ticket?.code, holder: ticket?.holder, revoked: ticket?.status === 'revoked' }).toEqual({ code: row.code, holder: row.holder, revoked: row.revoked });
        }
      }
      expect(stored.rows.filter((r) => r.revoked).map((r) => r.code).sort()).toEqual([...revoked].sort());
      expect(refusals()).toEqual([]);
    }, 240_000);

    it('afterwards every agent syncs with the other hub too', async () => {
      for (const [name, agent] of [...agents.entries()]) {
        agent.child.kill('SIGTERM');
        await agent.exited;
        // Same data folder: the replica holds hub A's and hub B's writes as its old hub relayed them.
        await startAgent(name, name.endsWith('1') ? 'north' : 'south', agent.hub === 'a' ? 'b' : 'a', []);
        await until(() => status(name), (s) => s.online && s.pending === 0 && s.tickets === CODES + 6, `${name} synced with the other hub`, 30_000);
      }
      expect(refusals()).toEqual([]);
    }, 120_000);
  });
});
