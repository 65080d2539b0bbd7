/**
 * Emergency across two hubs (issue 12 item 6): two hub processes on one PostgreSQL and one Redis, an edge agent on
 * each. An emergency with "hold all gates" sent on hub A reaches the gate on hub B too; gate screens and audience
 * pages report to whichever hub they are connected to; both hubs publish the same counts (each screen once, every
 * hub's reports together), never going backwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AnnouncementShownMessage, type ShownCounts } from '@opshub/schema';
import { spawnAgent, type AgentProcess } from '../../../edge-agent/test/helpers.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { until } from '../gates/edge-fleet.ts';

describeWithService('DATABASE_URL', 'emergency across hubs', (databaseUrl) => {
  describeWithService('REDIS_URL', 'two hubs on PostgreSQL and Redis, an agent on each', (redisUrl) => {
    const schema = `opshub_emerg_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `e${Date.now().toString(36)}`;
    const dirs: string[] = [];
    const agents = new Map<string, AgentProcess>();
    const watchers: TestClient[] = [];
    let a: HubProcess;
    let b: HubProcess;
    let admin: pg.Client;

    const tempDir = async (prefix: string) => {
      const d = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    };
    const agentUrl = (name: string) => agents.get(name)!.url;
    const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const shownOn = (client: TestClient, id: string): ShownCounts[] =>
      client
        .messages(`event/${event}/announcements/shown`)
        .map((f) => AnnouncementShownMessage.parse(f.data))
        .filter((m) => m.id === id)
        .map((m) => m.shown);

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = async () => ({ REDIS_URL: redisUrl, DATABASE_URL: url.toString(), HUB_JWT_SECRET: testSecret, DATA_DIR: await tempDir('opshub-emerg-') });
      a = await startHubProcess(await env());
      b = await startHubProcess(await env());
      const token = await minter.mint({ sub: 'ops', role: 'admin', events: ['*'] });
      const created = await fetch(`${a.httpUrl}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({
          id: event,
          name: 'Two-hub drill',
          zones: [{ id: 'hall', name: 'Hall', capacity: 1000 }],
          gates: [
            { id: 'north', name: 'North', zone: 'hall' },
            { id: 'south', name: 'South', zone: 'hall' },
          ],
        }),
      });
      expect(created.status).toBe(201);
      await fetch(`${a.httpUrl}/api/v1/events/${event}/tickets`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify([{ code: 'C1', holder: 'One' }, { code: 'C2', holder: 'Two' }]) });
      for (const [name, gate, hub] of [['na', 'north', a], ['sb', 'south', b]] as const) {
        const gateToken = await minter.mint({ sub: name, role: 'gate', events: [event], gate });
        const args = ['--hub', `ws://127.0.0.1:${hub.port}`, '--event', event, '--gate', gate, '--token', gateToken, '--port', '0', '--host', '127.0.0.1', '--data', await tempDir(`opshub-emerg-${name}-`), '--device', name];
        agents.set(name, await spawnAgent(args));
      }
      for (const name of agents.keys()) await until(async () => (await (await fetch(`${agentUrl(name)}/status`)).json()) as { online: boolean; tickets: number }, (s) => s.online && s.tickets === 2, `${name} online`, 30_000);
      for (const hub of [a, b]) {
        const watcher = await TestClient.connect(hub.wsUrl, await minter.mint({ sub: 'ops', role: 'staff', events: [event] }));
        expect(await watcher.subscribe(`event/${event}/announcements/shown`)).toMatchObject({ op: 'ok' });
        watchers.push(watcher);
      }
    }, 240_000);

    afterAll(async () => {
      await Promise.all(watchers.map((w) => w.close()));
      for (const agent of agents.values()) {
        agent.child.kill('SIGKILL');
        await agent.exited;
      }
      await Promise.all([a?.stop(), b?.stop()]);
      await admin?.query(`drop schema if exists "${schema}" cascade`);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('an emergency sent on hub A holds the gate on hub B; screens on both hubs are counted once each, the same on both', async () => {
      const sender = watchers[0]!;
      const sent = await sender.command('announce.send', { event, text: 'Shelter in place', level: 'emergency', holdGates: true });
      expect(sent).toMatchObject({ op: 'ok' });
      const id = (sent.result as { id: string }).id;
      for (const name of agents.keys()) {
        await until(async () => (await (await fetch(`${agentUrl(name)}/announcements`)).json()) as { emergency: { id: string } | null }, (n) => n.emergency?.id === id, `${name} shows it`, 10_000);
        await until(async () => (await (await post(`${agentUrl(name)}/scan`, { code: 'C1', dir: 'in' })).json()) as { verdict: string }, (r) => r.verdict === 'gate_closed', `${name} holds`, 10_000);
        // Each gate screen reports it to its own agent, twice (a reload); the agent tells its own hub.
        for (let i = 0; i < 2; i++) expect((await post(`${agentUrl(name)}/announcements/shown`, { ids: [id] })).status).toBe(200);
      }
      // Audience pages on both hubs, one of them reporting on both (it reconnected to the other hub).
      const attendee = await minter.mint({ sub: 'guest', role: 'attendee', events: [event] });
      const pages = await Promise.all([TestClient.connect(a.wsUrl, attendee), TestClient.connect(b.wsUrl, attendee)]);
      try {
        const report = (page: TestClient, client: string) => page.command('announce.shown', { event, ids: [id], screen: 'audience', client });
        expect(await Promise.all([report(pages[0]!, 'tab-one-0001'), report(pages[1]!, 'tab-two-0002'), report(pages[1]!, 'tab-one-0001')])).toMatchObject([{ op: 'ok' }, { op: 'ok' }, { op: 'ok' }]);
      } finally {
        await Promise.all(pages.map((p) => p.close()));
      }
      for (const watcher of watchers) {
        await until(async () => shownOn(watcher, id).at(-1), (c) => c?.gates === 2 && c.audience === 2, 'both hubs publish the whole count', 15_000);
        // Never backwards, whichever hub read and published.
        const seen = shownOn(watcher, id);
        for (let i = 1; i < seen.length; i++) {
          expect(seen[i]!.gates).toBeGreaterThanOrEqual(seen[i - 1]!.gates);
          expect(seen[i]!.audience).toBeGreaterThanOrEqual(seen[i - 1]!.audience);
        }
      }
      const stored = await admin.query(`select screen, count(*)::int as n from "${schema}".announcement_views where announcement_id = $1 group by screen order by screen`, [id]);
      expect(stored.rows).toEqual([
        { screen: 'audience', n: 2 },
        { screen: 'gate', n: 2 },
      ]);
    }, 90_000);
  });
});
