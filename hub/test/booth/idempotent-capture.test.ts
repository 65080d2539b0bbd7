/**
 * `lead.capture` with an idempotency key (`clientId`), across two hub processes sharing Redis and PostgreSQL: the booth
 * app resends a capture it never got an answer for, perhaps through the other hub behind the load balancer, perhaps
 * from two tabs at once. Ten sends of one key are one lead and one visit; a new key for the same badge is a rescan.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LeadPage, type Lead } from '@opshub/schema';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';

const resultOf = (frame: Frame) => (frame as unknown as { result: { lead: Lead; created: boolean } }).result;

describeWithService('DATABASE_URL', 'idempotent lead capture across hub processes', (databaseUrl) => {
  describeWithService('REDIS_URL', 'two hubs, one Redis, one PostgreSQL', (redisUrl) => {
    const schema = `opshub_booth_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `l${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const dirs: string[] = [];
    const sockets: TestClient[] = [];
    let a: HubProcess;
    let b: HubProcess;
    let admin: pg.Client;

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = async () => {
        const dir = await mkdtemp(join(tmpdir(), 'opshub-booth-'));
        dirs.push(dir);
        return { REDIS_URL: redisUrl, DATABASE_URL: url.toString(), HUB_JWT_SECRET: testSecret, DATA_DIR: dir };
      };
      // One after the other: both would run the migrations at once on a fresh schema (kysely's lock makes that safe, but slow).
      a = await startHubProcess(await env());
      b = await startHubProcess(await env());
      const headers = { authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}` };
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${a.httpUrl}/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
        expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
      };
      await post('/events', { id: event, name: 'Booth fair', zones: [{ id: 'stand', name: 'Stand', capacity: 50 }], gates: [] });
      await post(`/events/${event}/tickets`, [{ code: 'B1', holder: 'Bea', email: 'bea@example.org' }, { code: 'B2', holder: 'Bo' }]);
      await post(`/events/${event}/exhibitors`, { id: 'x1', name: 'Stand One', zone: 'stand' });
      await post(`/events/${event}/consents`, [{ code: 'B1', fields: ['name'] }]);
    }, 180_000);

    afterAll(async () => {
      await Promise.all(sockets.map((s) => s.close()));
      await Promise.all([a?.stop(), b?.stop()]);
      await admin?.query(`drop schema if exists "${schema}" cascade`);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('ten sends of one clientId through two hubs at once are one lead with one visit', async () => {
      const token = await minter.mint({ sub: 'booth-staff', role: 'exhibitor', events: [event], exhibitor: 'x1' });
      // Two sockets per hub: two tabs on each.
      for (const hub of [a, a, b, b]) sockets.push(await TestClient.connect(hub.wsUrl, token));
      const clientId = randomUUID();
      const capture = { event, exhibitor: 'x1', code: 'B1', rating: 4, notes: 'wants a demo', tags: ['hot'], clientId };
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => sockets[i % sockets.length]!.command('lead.capture', capture)));
      for (const reply of replies) expect(reply.op, JSON.stringify(reply)).toBe('ok');
      const results = replies.map(resultOf);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.lead.id)).size).toBe(1);
      expect(results.every((r) => r.lead.visits === 1)).toBe(true);
      expect(results[0]!.lead).toMatchObject({ attendee: { name: 'Bea' }, rating: 4, notes: 'wants a demo', tags: ['hot'] });

      const page = async (hub: HubProcess) =>
        LeadPage.parse(await (await fetch(`${hub.httpUrl}/api/v1/events/${event}/exhibitors/x1/leads`, { headers: { authorization: `Bearer ${token}` } })).json());
      for (const hub of [a, b]) expect((await page(hub)).leads.map((l) => [l.attendee.name, l.visits])).toEqual([['Bea', 1]]);

      // The same badge with a new key is a real second visit; the first key, sent again afterwards, still changes nothing.
      const rescan = await sockets[3]!.command('lead.capture', { ...capture, clientId: randomUUID(), rating: undefined, notes: undefined, tags: undefined });
      expect(resultOf(rescan)).toMatchObject({ created: false, lead: { visits: 2 } });
      const late = await sockets[0]!.command('lead.capture', capture);
      expect(resultOf(late).lead.visits).toBe(2);
      expect((await page(b)).leads.map((l) => l.visits)).toEqual([2]);
      const { rows } = await admin.query<{ n: string }>(`select count(*) as n from "${schema}".lead_captures where event_id = $1`, [event]);
      expect(Number(rows[0]!.n)).toBe(2);
    }, 60_000);
  });
});
