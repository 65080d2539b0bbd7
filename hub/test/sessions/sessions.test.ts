import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionAttendance, SessionList, SponsorSummary, type Claims } from '@opshub/schema';
import { listAudit } from '../../src/store/repos/audit-log.ts';
import { GateClient } from '../gates/gate-client.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/**
 * Sessions as rooms (issue 17): the agenda over REST, and attendance from real gate scans (through a gate's Yjs doc, the
 * way an edge agent delivers them) with engagement from real commands, read back from chDB with exact figures.
 */
let t: TestHub;
const admin: Partial<Claims> & Pick<Claims, 'role'> = { role: 'admin', events: ['*'] };
const sockets: TestClient[] = [];
let gates: GateClient[] = [];
const minute = 60_000;
// The session ran two to one hours ago: every scan below is in the past, as a gate that was offline would deliver it.
const start = Math.floor((Date.now() - 2 * 3_600_000) / minute) * minute;
const end = start + 60 * minute;
const at = (minutes: number) => start + minutes * minute;

const post = (path: string, body: unknown, claims = admin) => t.api(path, { method: 'POST', claims, body: JSON.stringify(body) });
const patch = (path: string, body: unknown, claims = admin) => t.api(path, { method: 'PATCH', claims, body: JSON.stringify(body) });

beforeAll(async () => {
  t = await startTestHub();
  const created = await post('/api/v1/events', {
    id: 'conf',
    name: 'Conference',
    zones: [
      { id: 'hall', name: 'Hall', capacity: 500 },
      { id: 'room-a', name: 'Room A', capacity: 10 },
      { id: 'room-b', name: 'Room B', capacity: 50 },
    ],
    gates: [
      { id: 'door-h', name: 'Hall door', zone: 'hall' },
      { id: 'door-a', name: 'Room A door', zone: 'room-a' },
      { id: 'door-b', name: 'Room B door', zone: 'room-b' },
    ],
  });
  expect(created.status).toBe(201);
  expect((await post('/api/v1/events/conf/tickets', Array.from({ length: 20 }, (_, i) => ({ code: `A${i + 1}` })))).status).toBe(200);
  expect((await post('/api/v1/events/conf/sponsors', { id: 'acme', name: 'ACME' })).status).toBe(200);
});
afterAll(async () => {
  for (const gate of gates) gate.close();
  await Promise.all(sockets.map((s) => s.close()));
  await t?.close();
});

describe('the agenda', () => {
  it('creates sessions (one or many), lists them in start order, patches them, and audits every change', async () => {
    const keynote = { id: 'keynote', title: 'Opening keynote', zone: 'room-a', startsAt: new Date(start).toISOString(), endsAt: new Date(end).toISOString(), capacity: 8, overflow: 'room-b' };
    const first = await post('/api/v1/events/conf/sessions', keynote);
    expect(first.status).toBe(201);
    expect(SessionList.parse(await first.json()).sessions).toEqual([{ ...keynote, sponsor: null }]);

    const many = await post('/api/v1/events/conf/sessions', [
      { id: 'panel', title: 'Panel', zone: 'room-b', startsAt: at(90), endsAt: at(150), sponsor: 'acme' },
      { id: 'early', title: 'Early bird', zone: 'hall', startsAt: '2020-01-01T08:00:00+01:00', endsAt: '2020-01-01T09:00:00+01:00' },
    ]);
    expect(many.status).toBe(201);
    const list = SessionList.parse(await (await t.api('/api/v1/events/conf/sessions', { claims: { role: 'attendee', events: ['conf'] } })).json());
    expect(list.sessions.map((s) => s.id)).toEqual(['early', 'keynote', 'panel']);
    expect(list.sessions[0]).toMatchObject({ startsAt: '2020-01-01T07:00:00.000Z', capacity: null, overflow: null, sponsor: null });
    expect(list.sessions[2]).toMatchObject({ sponsor: 'acme', startsAt: new Date(at(90)).toISOString() });

    const moved = await patch('/api/v1/events/conf/sessions/early', { title: 'Early birds', capacity: 300 });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toMatchObject({ id: 'early', title: 'Early birds', capacity: 300, zone: 'hall' });
    const cleared = await patch('/api/v1/events/conf/sessions/early', { capacity: null });
    expect(await cleared.json()).toMatchObject({ capacity: null, title: 'Early birds' });

    const audit = (await listAudit(t.backends.store.db, { event: 'conf', limit: 100 })).filter((a) => a.action.startsWith('session.'));
    expect(audit.map((a) => `${a.action} ${a.target}`).sort()).toEqual(['session.create early', 'session.create keynote', 'session.create panel', 'session.update early', 'session.update early']);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const base = { id: 'bad', title: 'Bad', zone: 'room-a', startsAt: at(0), endsAt: at(30) };
    const cases: [unknown, RegExp][] = [
      [{ ...base, zone: 'nowhere' }, /zone "nowhere" is not a zone of the event/],
      [{ ...base, overflow: 'room-a' }, /overflow/],
      [{ ...base, overflow: 'attic' }, /overflow "attic"/],
      [{ ...base, sponsor: 'nobody' }, /sponsor "nobody"/],
      [{ ...base, endsAt: at(-1) }, /endsAt/],
      [{ ...base, startsAt: 'tomorrow' }, /startsAt/],
      [{ ...base, extra: 1 }, /extra/],
      [[base, base], /appears twice/],
    ];
    for (const [body, message] of cases) {
      const res = await post('/api/v1/events/conf/sessions', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = (await res.json()) as { error: string; message: string };
      expect(error.error).toBe('invalid');
      expect(error.message).toMatch(message);
    }
    expect((await patch('/api/v1/events/conf/sessions/keynote', { endsAt: at(-10) })).status).toBe(400);
    expect((await patch('/api/v1/events/conf/sessions/keynote', {})).status).toBe(400);
    expect((await patch('/api/v1/events/conf/sessions/ghost', { title: 'x' })).status).toBe(404);
    expect((await post('/api/v1/events/conf/sessions', base, { role: 'moderator', events: ['conf'] })).status).toBe(403);
    const list = SessionList.parse(await (await t.api('/api/v1/events/conf/sessions', { claims: admin })).json());
    expect(list.sessions.map((s) => s.id)).toEqual(['early', 'keynote', 'panel']);
    expect(list.sessions[1]).toMatchObject({ endsAt: new Date(end).toISOString() });
  });
});

describe('attendance', () => {
  it('counts who was in the room by the gates\' rule, and who of them took part, exactly', async () => {
    const token = (gate: string) => t.token({ role: 'gate', events: ['conf'], gate, sub: `gate-${gate}` });
    const [roomA, hall] = await Promise.all([GateClient.connect(t.port, 'conf', await token('door-a')), GateClient.connect(t.port, 'conf', await token('door-h'))]);
    const roomB = await GateClient.connect(t.port, 'conf', await token('door-b'));
    gates = [roomA, hall, roomB];
    // Before the start: A1–A4 enter room A, A4 leaves again: 3 inside at the start.
    for (const [i, code] of ['A1', 'A2', 'A3', 'A4'].entries()) roomA.scan({ code, gate: 'door-a', at: at(-10) + i });
    roomA.scan({ code: 'A4', gate: 'door-a', dir: 'out', at: at(-5) });
    // During: A5–A7 arrive (6), A10 comes and goes (7, the peak, then 6), A1 walks to the hall (5), A8 arrives (6).
    for (const [i, code] of ['A5', 'A6', 'A7'].entries()) roomA.scan({ code, gate: 'door-a', at: at(10) + i });
    roomA.scan({ code: 'A10', gate: 'door-a', at: at(15) });
    roomA.scan({ code: 'A10', gate: 'door-a', dir: 'out', at: at(18) });
    hall.scan({ code: 'A1', gate: 'door-h', at: at(20) });
    roomA.scan({ code: 'A8', gate: 'door-a', at: at(30) });
    // Elsewhere, and after the end: none of it is the keynote's, but A2 leaving is the room's "now".
    roomB.scan({ code: 'A11', gate: 'door-b', at: at(12) });
    hall.scan({ code: 'A12', gate: 'door-h', at: at(25) });
    roomA.scan({ code: 'A9', gate: 'door-a', at: at(61) });
    roomA.scan({ code: 'A9', gate: 'door-a', dir: 'out', at: at(62) });
    roomA.scan({ code: 'A2', gate: 'door-a', dir: 'out', at: at(65) });

    // Engagement: voters 1–3 in the keynote's poll, askers 2 and 4 in its Q&A, chatters 1 and 5 in its room; 6 only elsewhere.
    const person = async (sub: string) => {
      const socket = await TestClient.connect(t.wsUrl, await t.token({ role: 'attendee', events: ['conf'], sub }));
      sockets.push(socket);
      return socket;
    };
    const mod = await TestClient.connect(t.wsUrl, await t.token({ role: 'moderator', events: ['conf'], sub: 'mod' }));
    sockets.push(mod);
    const poll = (await mod.command('poll.create', { event: 'conf', session: 'keynote', kind: 'single', question: 'Good?', options: ['Yes', 'No'], open: true })) as { op: string; result: { id: string } };
    const other = (await mod.command('poll.create', { event: 'conf', session: 'panel', kind: 'single', question: 'Good?', options: ['Yes', 'No'], open: true })) as { op: string; result: { id: string } };
    const people = await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map(person));
    const [p1, p2, p3, p4, p5, p6] = people as [TestClient, TestClient, TestClient, TestClient, TestClient, TestClient];
    const expectOk = async (reply: Promise<{ op: string }>) => expect((await reply).op).toBe('ok');
    for (const voter of [p1, p2, p3]) await expectOk(voter.command('poll.vote', { event: 'conf', poll: poll.result.id, options: ['1'] }));
    await expectOk(p6.command('poll.vote', { event: 'conf', poll: other.result.id, options: ['1'] }));
    await expectOk(p2.command('qa.ask', { event: 'conf', session: 'keynote', text: 'How many came?' }));
    await expectOk(p4.command('qa.ask', { event: 'conf', session: 'keynote', text: 'And who voted?' }));
    await expectOk(p4.command('qa.ask', { event: 'conf', session: 'keynote', text: 'A second question, same person' }));
    await expectOk(p1.command('chat.send', { event: 'conf', room: 'keynote', text: 'Hello room' }));
    await expectOk(p5.command('chat.send', { event: 'conf', room: 'keynote', text: 'Hi all' }));
    await expectOk(p6.command('chat.send', { event: 'conf', room: 'panel', text: 'Elsewhere' }));

    // Every scan derived (15 of them) and every event stored, then the figures.
    const analytics = t.backends.analytics;
    const deadline = Date.now() + 30_000;
    for (;;) {
      // Every analytics event committed so far is in ClickHouse once the outbox relay has drained.
      await t.hub.analyticsRelay.drain();
      const [row] = await analytics.query<{ n: string }>(`SELECT count() AS n FROM events WHERE event = 'conf' AND kind LIKE 'scan.%'`);
      if (Number(row?.n) >= 15 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await t.api('/api/v1/events/conf/sessions/keynote/attendance', { claims: { role: 'moderator', events: ['conf'] } });
    expect(res.status).toBe(200);
    const figures = SessionAttendance.parse(await res.json());
    expect(figures).toEqual({
      session: 'keynote',
      zone: 'room-a',
      inRoom: 5, // A3, A5, A6, A7, A8
      peak: 7,
      unique: 8, // A1, A2, A3 inside at the start; A5, A6, A7, A10, A8 admitted during
      participants: 5,
      participation: 5 / 8,
      voters: 3,
      askers: 2,
      chatters: 2,
      capacity: 8,
      status: 'ended',
    });

    // The panel is sponsored by ACME: its sponsor reads it; another sponsor and an attendee do not.
    expect((await t.api('/api/v1/events/conf/sessions/panel/attendance', { claims: { role: 'sponsor', events: ['conf'], sponsor: 'acme' } })).status).toBe(200);
    expect((await t.api('/api/v1/events/conf/sessions/keynote/attendance', { claims: { role: 'sponsor', events: ['conf'], sponsor: 'acme' } })).status).toBe(403);
    expect((await t.api('/api/v1/events/conf/sessions/keynote/attendance', { claims: { role: 'attendee', events: ['conf'] } })).status).toBe(403);
    expect((await t.api('/api/v1/events/conf/sessions/ghost/attendance', { claims: admin })).status).toBe(404);
  }, 60_000);

  it('puts the sponsored rooms\' attendance and participation against the event\'s into the sponsor summary', async () => {
    const res = await t.api('/api/v1/events/conf/sponsors/acme/summary', { claims: { role: 'sponsor', events: ['conf'], sponsor: 'acme' } });
    expect(res.status).toBe(200);
    const summary = SponsorSummary.parse(await res.json());
    // The panel names ACME as its sponsor: it is a sponsored session without being in ACME's own list.
    expect(summary.sessions.map((s) => s.session)).toEqual(['panel']);
    expect(summary.attendance).toEqual({
      // Room B: A11 has been inside since before the panel began; p6 voted and chatted in it.
      sessions: [{ session: 'panel', unique: 1, peak: 1, participants: 1, participation: 1 }],
      sponsoredParticipation: 1,
      // keynote 5 of 8, panel 1 of 1, the 2020 early bird in the hall 0 of 0
      eventParticipation: 6 / 9,
      sponsoredAverageAttendance: 1,
      eventAverageAttendance: 3,
    });
  }, 30_000);
});
