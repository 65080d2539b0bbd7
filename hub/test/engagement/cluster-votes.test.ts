import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { engagementLimits, type Poll, type PollsMessage, type PollsState } from '@opshub/schema';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';

const VOTERS = 1000;
const BATCH = 100;
const OPTIONS = ['Keynote', 'Panel', 'Workshop', 'Hallway track'];

/**
 * 1,000 attendee sockets vote at once, half on each of two hub processes sharing one Redis and one PostgreSQL:
 * totals exact, one vote per attendee (also when one attendee votes on both hubs at the same moment), and results
 * published coalesced for the pair of hubs together.
 *
 * Isolation on shared services: a fresh PostgreSQL schema per run (chosen through the connection string's
 * `options=-c search_path=…`, so main.ts needs no extra setting), dropped afterwards, and a fresh event id (Redis
 * topics are per event).
 */
describeWithService('DATABASE_URL', 'engagement across hub processes', (databaseUrl) => {
  describeWithService('REDIS_URL', '1,000 voters on two hubs', (redisUrl) => {
    const schema = `opshub_eng_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `v${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const topic = `event/${event}/polls`;
    const dirs: string[] = [];
    const clients: TestClient[] = [];
    let a: HubProcess;
    let b: HubProcess;
    let admin: pg.Client;

    const connect = async (hub: HubProcess, sub: string, role: 'attendee' | 'moderator' = 'attendee') => {
      const client = await TestClient.connect(hub.wsUrl, await minter.mint({ sub, role, events: [event] }));
      clients.push(client);
      return client;
    };

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = async () => {
        const dir = await mkdtemp(join(tmpdir(), 'opshub-engagement-'));
        dirs.push(dir);
        return { REDIS_URL: redisUrl, DATABASE_URL: url.toString(), HUB_JWT_SECRET: testSecret, DATA_DIR: dir };
      };
      // Both migrate the fresh schema at once: kysely's migration lock makes them take turns.
      [a, b] = await Promise.all([startHubProcess(await env()), startHubProcess(await env())]);
      const res = await fetch(`${a.httpUrl}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}` },
        body: JSON.stringify({ id: event, name: 'Keynote vote' }),
      });
      expect(res.status).toBe(201);
    }, 90_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all([a?.stop(), b?.stop()]);
      await admin?.query(`drop schema if exists "${schema}" cascade`);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('counts every vote exactly once and publishes coalesced results', async () => {
      const mod = await connect(a, 'mo', 'moderator');
      const poll = (await mod.command('poll.create', { event, kind: 'single', question: 'Best part of today?', options: OPTIONS, open: true })).result as Poll;
      expect(poll.status).toBe('open');
      const watchA = await connect(a, 'watch-a');
      const watchB = await connect(b, 'watch-b');
      for (const w of [watchA, watchB]) expect((await w.subscribe(topic)).op).toBe('ok');

      // Connect (and subscribe) in batches: 1,000 upgrades at once would only queue up on two cores.
      const started = performance.now();
      const voters: TestClient[] = [];
      for (let i = 0; i < VOTERS; i += BATCH) {
        const batch = await Promise.all(Array.from({ length: BATCH }, (_, j) => connect((i + j) % 2 === 0 ? a : b, `attendee-${i + j}`)));
        await Promise.all(batch.map((c) => c.subscribe(topic)));
        voters.push(...batch);
      }
      const connectedMs = performance.now() - started;

      const voteStart = performance.now();
      const replies = await Promise.all(voters.map((c, i) => c.command('poll.vote', { event, poll: poll.id, options: [String((i % OPTIONS.length) + 1)] }, `v${i}`)));
      const voteMs = performance.now() - voteStart;
      expect(replies.filter((r) => r.op !== 'ok')).toEqual([]);

      // Every socket, on either hub, ends up seeing the exact totals.
      const expected = { '1': 250, '2': 250, '3': 250, '4': 250 };
      const complete = (f: Frame) => f.op === 'msg' && (f.data as PollsMessage).type === 'results' && (f.data as { results: { votes: number } }).results.votes === VOTERS;
      await Promise.all([watchA, watchB, ...voters].map((c) => c.next(complete, 15_000)));
      const settledMs = performance.now() - voteStart;
      for (const w of [watchA, watchB]) {
        const results = w.messages(topic).filter((m) => (m.data as PollsMessage).type === 'results');
        expect((results.at(-1)!.data as { results: { counts: unknown } }).results.counts).toEqual(expected);
        // Tallies only grow while nobody changes a vote: in topic order, every message is at least as fresh as the last.
        const totals = results.map((m) => (m.data as { results: { votes: number } }).results.votes);
        expect(totals).toEqual([...totals].sort((x, y) => x - y));
      }

      // Coalesced across both hubs: far fewer messages than votes, and never two within the interval.
      const results = watchA.messages(topic).filter((m) => (m.data as PollsMessage).type === 'results');
      expect(watchB.messages(topic).map((m) => m.seq)).toEqual(watchA.messages(topic).map((m) => m.seq));
      const gaps = results.slice(1).map((m, i) => m.ts as number - (results[i]!.ts as number));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(engagementLimits.resultsIntervalMs - 50);
      expect(results.length).toBeLessThanOrEqual(Math.ceil(settledMs / engagementLimits.resultsIntervalMs) + 2);
      expect(results.length).toBeLessThan(VOTERS / 20);

      // One vote per attendee across processes: the same attendees again, now on the other hub, are refused...
      const again = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => (await connect(i % 2 === 0 ? b : a, `attendee-${i}`)).command('poll.vote', { event, poll: poll.id, options: ['1'] })),
      );
      expect(again.map((r) => r.code)).toEqual(Array(50).fill('conflict'));
      // ...and new attendees voting on both hubs at the same moment get exactly one vote each.
      const racers = await Promise.all(Array.from({ length: 40 }, (_, i) => Promise.all([connect(a, `racer-${i}`), connect(b, `racer-${i}`)])));
      const raced = await Promise.all(racers.map(([onA, onB]) => Promise.all([onA, onB].map((c) => c.command('poll.vote', { event, poll: poll.id, options: ['2'] })))));
      for (const pair of raced) expect(pair.map((r) => r.op).sort()).toEqual(['err', 'ok']);

      // Closed on the other hub: final, stored, identical everywhere.
      const closed = (await (await connect(b, 'mo', 'moderator')).command('poll.close', { event, poll: poll.id })).result as Poll;
      const finalCounts = { ...expected, '2': 250 + 40 };
      expect(closed).toMatchObject({ status: 'closed', results: { votes: VOTERS + 40, counts: finalCounts } });
      for (const w of [watchA, watchB]) await w.next((f) => f.op === 'msg' && (f.data as PollsMessage).type === 'poll' && (f.data as { poll: Poll }).poll.status === 'closed');
      const token = await minter.mint({ sub: 'attendee-7', role: 'attendee', events: [event] });
      for (const hub of [a, b]) {
        const state = (await (await fetch(`${hub.httpUrl}/api/v1/events/${event}/polls`, { headers: { authorization: `Bearer ${token}` } })).json()) as PollsState;
        expect(state.polls[0]).toMatchObject({ id: poll.id, status: 'closed', results: closed.results, myVote: ['4'] });
      }
      const { rows } = await admin.query<{ votes: string; voters: string }>(
        `select count(*) as votes, count(distinct voter) as voters from "${schema}".poll_votes where event_id = $1 and poll_id = $2`,
        [event, poll.id],
      );
      expect(rows[0]).toEqual({ votes: String(VOTERS + 40), voters: String(VOTERS + 40) });

      const figures = {
        connectMs: Math.round(connectedMs),
        voteMs: Math.round(voteMs),
        votesPerSecond: Math.round((VOTERS / voteMs) * 1000),
        settledMs: Math.round(settledMs),
        resultsMessages: results.length,
        resultsPerSecond: Number(((results.length / settledMs) * 1000).toFixed(1)),
        minGapMs: Math.min(...gaps),
      };
      process.stdout.write(`engagement cluster figures: ${JSON.stringify(figures)}\n`);
    }, 120_000);
  });
});
