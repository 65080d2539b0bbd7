import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Heatmap, SponsorSummary } from '@opshub/schema';
import { GateClient } from '../gates/gate-client.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { until } from './until.ts';

/**
 * Issue 14's day: two hub processes on one PostgreSQL and one Redis, each with its own embedded chDB, take votes,
 * questions, chat, booth scans and gate check-ins; hub A is killed with -9 twice during the run and restarted. Once
 * the relays have caught up, both hubs' heatmaps and sponsor summaries equal the Store's facts exactly, and every
 * acknowledged write is among those facts.
 *
 * `OPSHUB_EXACTLY_ONCE_ATTENDEES` scales the run (each attendee makes 5 engagement events, a lead and a check-in:
 * 7,200 attendees is the 50,000 events); the default keeps CI's run to a few minutes.
 */
const attendees = Number(process.env.OPSHUB_EXACTLY_ONCE_ATTENDEES ?? 360);
const ports = { a: 18411, b: 18412 };

describeWithService('DATABASE_URL', 'analytics exactly once across two hubs', (databaseUrl) => {
  describeWithService('REDIS_URL', 'with hub A killed twice mid-surge', (redisUrl) => {
    const schema = `opshub_xo_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const event = `xo${Date.now().toString(36)}`;
    const dirs: string[] = [];
    let admin: pg.Client;
    let envA: Record<string, string>;
    let envB: Record<string, string>;
    const hubs: { a?: HubProcess; b?: HubProcess } = {};
    const gates: GateClient[] = [];

    const tempDir = async () => {
      const d = await mkdtemp(join(tmpdir(), 'opshub-xo-'));
      dirs.push(d);
      return d;
    };
    const staffToken = () => minter.mint({ sub: 'ops', role: 'staff', events: [event] });
    async function api<T>(hub: HubProcess, method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${hub.httpUrl}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    }

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const base = { REDIS_URL: redisUrl, DATABASE_URL: url.toString(), HUB_JWT_SECRET: testSecret };
      envA = { ...base, PORT: String(ports.a), DATA_DIR: await tempDir() };
      envB = { ...base, PORT: String(ports.b), DATA_DIR: await tempDir() };
      // One after the other: both would run the migrations at once otherwise (they take turns, but slowly on 2 cores).
      hubs.a = await startHubProcess(envA);
      hubs.b = await startHubProcess(envB);
      await api(hubs.a, 'POST', '/events', {
        id: event,
        name: 'Exactly once',
        zones: [{ id: 'hall', name: 'Hall', capacity: 100_000 }, { id: 'booth-z', name: 'Booth zone', capacity: 100_000 }],
        gates: [{ id: 'main', name: 'Main', zone: 'hall' }],
      });
      await api(hubs.a, 'POST', `/events/${event}/tickets`, Array.from({ length: attendees }, (_, i) => ({ code: code(i), holder: `H${i}` })));
      await api(hubs.a, 'POST', `/events/${event}/sponsors`, { id: 'sp1', name: 'Sponsor', sessions: ['s1', 's2'] });
      await api(hubs.a, 'POST', `/events/${event}/exhibitors`, { id: 'x1', name: 'Booth', zone: 'booth-z', sponsor: 'sp1' });
      const staff = await TestClient.connect(hubs.a.wsUrl, await staffToken());
      for (const session of ['s1', 's2']) {
        const reply = await staff.command('poll.create', { event, session, kind: 'single', question: `Poll ${session}`, options: ['yes', 'no'], open: true });
        if (reply.op !== 'ok') throw new Error(JSON.stringify(reply));
      }
      await staff.close();
    }, 180_000);

    afterAll(async () => {
      for (const gate of gates) gate.close();
      await Promise.all([hubs.a?.stop('SIGKILL'), hubs.b?.stop('SIGKILL')]);
      await admin?.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
      await admin?.end();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('counts every acknowledged vote, question, chat, lead and check-in exactly once on both hubs', async () => {
      const acked = { votes: 0, questions: 0, chats: 0, leads: new Set<string>() };
      const gateToken = await minter.mint({ sub: 'gate-1', role: 'gate', events: [event], gate: 'main' });
      // One gate on each hub: the one on A keeps its scans while A is down and syncs them when A is back.
      gates.push(await GateClient.connect(ports.a, event, gateToken, 'gate-a'), await GateClient.connect(ports.b, event, gateToken, 'gate-b'));
      const booth = { a: await boothClient(ports.a), b: await boothClient(ports.b) };
      const scanned: string[] = [];

      const kills = [Math.floor(attendees / 3), Math.floor((2 * attendees) / 3)];
      let next = 0;
      const attendee = async (i: number) => {
        const hub = i % 2 === 0 ? hubs.a : hubs.b;
        const other = i % 2 === 0 ? hubs.b : hubs.a;
        const token = await minter.mint({ sub: `att-${i}`, role: 'attendee', events: [event] });
        let client: TestClient;
        try {
          client = await TestClient.connect(hub!.wsUrl, token);
        } catch {
          client = await TestClient.connect(other!.wsUrl, token); // its hub is down: a load balancer would send it here
        }
        const run = async (name: string, args: Record<string, unknown>) => {
          try {
            return (await client.command(name, { event, ...args })).op === 'ok';
          } catch {
            return false; // the socket died with its hub: not acknowledged
          }
        };
        const session = i % 3 === 0 ? 's2' : 's1';
        const poll = await pollOf(session);
        if (await run('poll.vote', { poll, options: [i % 2 === 0 ? '1' : '2'] })) acked.votes++;
        if (await run('qa.ask', { session, text: `Question ${i}?` })) acked.questions++;
        for (const room of ['s1', 's2']) if (await run('chat.send', { room, text: `hello ${i}` })) acked.chats++;
        await client.close().catch(() => undefined);
        const desk = i % 2 === 0 ? booth.a : booth.b;
        try {
          if ((await desk.current.command('lead.capture', { event, exhibitor: 'x1', code: code(i) })).op === 'ok') acked.leads.add(code(i));
        } catch {
          // the booth's hub died mid-capture
        }
        const gate = gates[i % 2]!;
        gate.scan({ code: code(i), gate: 'main' });
        scanned.push(code(i));
      };
      for (const session of ['s1', 's2']) await pollOf(session);
      // Kills take turns: a second one waits until the first restart is up.
      let restarts = Promise.resolve();
      const workers = Array.from({ length: 6 }, async () => {
        while (next < attendees) {
          const i = next++;
          if (kills.includes(i)) await (restarts = restarts.then(() => killAndRestartA(booth)));
          await attendee(i);
        }
      });
      await Promise.all(workers);

      // Every scan made it into the Store (the gate on A resynced after each restart).
      await until(async () => (await facts()).checkins === scanned.length, { what: 'every scan recorded as a check-in', timeoutMs: 120_000 });
      const truth = await facts();
      expect(truth.votes).toBeGreaterThanOrEqual(acked.votes);
      expect(truth.questions).toBeGreaterThanOrEqual(acked.questions);
      expect(truth.chats).toBeGreaterThanOrEqual(acked.chats);
      for (const lead of acked.leads) expect(truth.leadTickets).toContain(lead);
      expect(acked.votes).toBeGreaterThan(attendees / 2);

      for (const hub of [hubs.a!, hubs.b!]) {
        const seen = await until2(() => analyticsOf(hub), (got) => sameNumbers(got, truth), `hub on ${hub.port} to catch up`);
        expect(seen).toEqual(expectedOf(truth));
      }
      await Promise.all([booth.a.current.close(), booth.b.current.close()]);
    }, 600_000);

    async function boothClient(port: number) {
      const token = await minter.mint({ sub: `booth-${port}`, role: 'exhibitor', events: [event], exhibitor: 'x1' });
      const holder = { current: await TestClient.connect(`ws://127.0.0.1:${port}/ws`, token), port, token };
      return holder;
    }

    async function killAndRestartA(booth: { a: { current: TestClient; token: string; port: number } }) {
      hubs.a!.child.kill('SIGKILL');
      await hubs.a!.exited;
      hubs.a = await startHubProcess(envA);
      booth.a.current = await TestClient.connect(hubs.a.wsUrl, booth.a.token);
    }

    const polls = new Map<string, string>();
    async function pollOf(session: string): Promise<string> {
      if (!polls.has(session)) {
        const { rows } = await admin.query<{ id: string }>(`select id from "${schema}".polls where event_id = $1 and session = $2`, [event, session]);
        polls.set(session, rows[0]!.id);
      }
      return polls.get(session)!;
    }

    /** The Store's facts: what analytics must equal. */
    async function facts() {
      const one = async (q: string) => Number((await admin.query<{ n: string }>(q, [event])).rows[0]!.n);
      const bySession = async (q: string) => Object.fromEntries((await admin.query<{ s: string; n: string }>(q, [event])).rows.map((r) => [r.s, Number(r.n)]));
      return {
        votes: await one(`select count(*) as n from "${schema}".poll_votes where event_id = $1`),
        votesBySession: await bySession(`select p.session as s, count(*) as n from "${schema}".poll_votes v join "${schema}".polls p on p.event_id = v.event_id and p.id = v.poll_id where v.event_id = $1 group by 1`),
        questions: await one(`select count(*) as n from "${schema}".qa_questions where event_id = $1`),
        questionsBySession: await bySession(`select session as s, count(*) as n from "${schema}".qa_questions where event_id = $1 group by 1`),
        chats: await one(`select count(*) as n from "${schema}".chat_messages where event_id = $1`),
        chatsByRoom: await bySession(`select room as s, count(*) as n from "${schema}".chat_messages where event_id = $1 group by 1`),
        leadVisits: await one(`select coalesce(sum(visits), 0) as n from "${schema}".leads where event_id = $1`),
        leadTickets: (await admin.query<{ t: string }>(`select ticket_code as t from "${schema}".leads where event_id = $1`, [event])).rows.map((r) => r.t),
        checkins: await one(`select count(*) as n from "${schema}".checkins where event_id = $1 and dir = 'in' and verdict = 'admitted'`),
      };
    }
    type Facts = Awaited<ReturnType<typeof facts>>;

    function expectedOf(truth: Facts) {
      return {
        hallVisits: truth.checkins,
        boothVisits: truth.leadVisits,
        uniqueVisitors: truth.leadTickets.length,
        sessions: Object.fromEntries(['s1', 's2'].map((s) => [s, { votes: truth.votesBySession[s] ?? 0, questions: truth.questionsBySession[s] ?? 0, chats: truth.chatsByRoom[s] ?? 0 }])),
      };
    }

    /** What a hub's analytics say, through its REST API: the zone heatmap, the session heatmap, the sponsor summary. */
    async function analyticsOf(hub: HubProcess) {
      const get = async <T>(path: string) => {
        const res = await fetch(`${hub.httpUrl}/api/v1/events/${event}${path}`, { headers: { authorization: `Bearer ${await staffToken()}` } });
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
        return (await res.json()) as T;
      };
      const zone = await get<Heatmap>('/analytics/heatmap?dim=zone&bucket=15m');
      const sessions = await get<Heatmap>('/analytics/heatmap?dim=session&bucket=15m');
      const summary = await get<SponsorSummary>('/sponsors/sp1/summary');
      const sum = (values: readonly number[] | undefined) => (values ?? []).reduce((a, b) => a + b, 0);
      const hallRow = zone.rows.findIndex((r) => r.id === 'hall');
      const part = (name: 'votes' | 'questions' | 'chats', session: string) => sum(sessions.breakdown?.[name]?.[sessions.rows.findIndex((r) => r.id === session)]);
      const fromSummary = (session: string) => summary.sessions.find((s) => s.session === session);
      return {
        hallVisits: hallRow < 0 ? 0 : sum(zone.visits?.[hallRow]),
        boothVisits: summary.booths[0]?.visits ?? 0,
        uniqueVisitors: summary.booths[0]?.uniqueVisitors ?? 0,
        sessions: Object.fromEntries(
          ['s1', 's2'].map((s) => {
            const heat = { votes: part('votes', s), questions: part('questions', s), chats: part('chats', s) };
            const summed = fromSummary(s);
            // The heatmap and the summary read different views: both must agree, or the number is not settled.
            const agree = summed && summed.votes === heat.votes && summed.questions === heat.questions && summed.chats === heat.chats;
            return [s, agree ? heat : { ...heat, summary: summed }];
          }),
        ),
      };
    }

    function sameNumbers(got: Awaited<ReturnType<typeof analyticsOf>>, truth: Facts): boolean {
      return JSON.stringify(got) === JSON.stringify(expectedOf(truth));
    }
  });
});

const code = (i: number) => `T${String(i).padStart(6, '0')}`;

/** Polls `read` until `done` holds; returns the last value read (so a mismatch fails with the numbers in view). */
async function until2<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await read();
  }
  if (!done(last)) console.warn(`gave up waiting for ${what}`);
  return last;
}
