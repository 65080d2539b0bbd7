/**
 * Emergency and announcements on every screen (issue 12 item 6), against a real hub process and real edge agents:
 * an announcement and an emergency reach the gate screens' API (`GET /announcements`) through the hub and through
 * the venue mesh to an agent that never sees the hub; "hold all gates" makes every gate answer `gate_closed`;
 * ending the emergency (with "reopen gates") lifts both; the screens that showed it are counted once each, gate
 * screens through their agent's presence and pages through `announce.shown`; a gate may not write the entry.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnouncementShownMessage, CloseCode, GateDirectiveMessage } from '@opshub/schema';
import { minter } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';
import { EdgeFleet, until } from '../gates/edge-fleet.ts';
import { GateClient } from '../gates/gate-client.ts';

const EVENT = 'alarm';
const event = {
  id: EVENT,
  name: 'Alarm drill',
  zones: [{ id: 'hall', name: 'Hall', capacity: 500 }],
  gates: [
    { id: 'north', name: 'North', zone: 'hall' },
    { id: 'south', name: 'South', zone: 'hall' },
    { id: 'east', name: 'East', zone: 'hall' },
  ],
};
const code = (i: number) => `A${String(i).padStart(3, '0')}`;
let next = 0;

interface Notice {
  id: string;
  text: string;
  level: string;
  holdGates?: boolean;
}
interface Notices {
  emergency: Notice | null;
  recent: Notice[];
}

let fleet: EdgeFleet;
let control: TestClient;

const notices = async (name: string): Promise<Notices> => (await (await fetch(`${fleet.agents.get(name)!.url}/announcements`)).json()) as Notices;
const scan = async (name: string, dir: 'in' | 'out' = 'in', scanned = code(next++)) => {
  const res = await fetch(`${fleet.agents.get(name)!.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: scanned, dir }) });
  return (await res.json()) as { verdict: string; message?: string };
};
const ok = (frame: Frame) => {
  expect(frame, JSON.stringify(frame)).toMatchObject({ op: 'ok' });
  return frame.result as Record<string, unknown>;
};
/** The latest counts published for `id` on the control room's topic. */
const countsOf = (client: TestClient, id: string) =>
  client.frames
    .filter((f) => f.op === 'msg' && f.topic === `event/${EVENT}/announcements/shown`)
    .map((f) => AnnouncementShownMessage.parse(f.data))
    .filter((m) => m.id === id)
    .at(-1)?.shown;

beforeAll(async () => {
  fleet = await EdgeFleet.create(EVENT);
  await fleet.startHub();
  expect((await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify(event) })).status).toBe(201);
  await fleet.api(`/api/v1/events/${EVENT}/tickets`, { method: 'POST', body: JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ code: code(i), holder: `H${i}` }))) });
  const north = await fleet.startAgent('north-1', 'north');
  await until(() => fleet.status('north-1'), (s) => s.online && s.tickets === 100, 'north online');
  // South never sees the hub: paired ahead (its mesh.json copied in), meshed with north only.
  const credentials = await (await fleet.api(`/api/v1/events/${EVENT}/gates/south/mesh-credentials`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json();
  await writeFile(join(await fleet.dataDir('south-1'), 'mesh.json'), JSON.stringify(credentials), { mode: 0o600 });
  await fleet.startAgent('south-1', 'south', ['--peer', `ws://${new URL(north.url).host}`], null);
  await until(() => fleet.status('south-1'), (s) => s.peers === 1 && s.tickets === 100, 'south meshed with north, roster in');
  control = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'ops', role: 'staff', events: [EVENT] }));
  for (const topic of ['gates', 'announcements', 'announcements/shown']) await control.subscribe(`event/${EVENT}/${topic}`);
}, 240_000);

afterAll(async () => {
  await control?.close();
  await fleet?.close();
});

describe('announcements on the gate screens', () => {
  it('an announcement reaches a gate through the hub and a gate that only has the mesh, and gates keep admitting', async () => {
    const sent = ok(await control.command('announce.send', { event: EVENT, text: 'Coffee in hall B', level: 'info' }));
    for (const name of ['north-1', 'south-1']) {
      const seen = await until(() => notices(name), (n) => n.recent.some((a) => a.id === sent.id), `${name} has the announcement`, 5000);
      expect(seen.emergency).toBeNull();
      expect(seen.recent[0]).toMatchObject({ id: sent.id, text: 'Coffee in hall B', level: 'info' });
    }
    expect(await scan('north-1')).toMatchObject({ verdict: 'admitted' });
  }, 30_000);

  it('"hold all gates" rides with the emergency: every gate is on hold in one audited action and answers gate_closed, through the mesh too', async () => {
    const text = 'Evacuate hall A by the east exits';
    const sent = ok(await control.command('announce.send', { event: EVENT, text, level: 'emergency', holdGates: true }));
    expect((sent.held as string[]).sort()).toEqual(['east', 'north', 'south']);
    const started = Date.now();
    for (const name of ['north-1', 'south-1']) {
      const seen = await until(() => notices(name), (n) => n.emergency?.id === sent.id, `${name} shows the emergency`, 5000);
      expect(seen.emergency).toMatchObject({ text, level: 'emergency', holdGates: true });
      const answer = await until(() => scan(name), (a) => a.verdict === 'gate_closed', `${name} refuses entry`, 5000);
      expect(answer.message).toBe(text);
      // Exits are always recorded.
      expect(await scan(name, 'out', code(0))).toMatchObject({ verdict: 'admitted' });
    }
    expect(Date.now() - started).toBeLessThan(5000);
    // Every gate's hold is published on the gates topic and stored.
    for (const gate of ['north', 'south', 'east']) {
      await control.next((f) => f.op === 'msg' && GateDirectiveMessage.safeParse(f.data).success && (f.data as { gate: string; state: string }).gate === gate && (f.data as { state: string }).state === 'hold');
    }
    const directives = (await (await fleet.api(`/api/v1/events/${EVENT}/directives`)).json()) as { gates: { gate: string; state: string; message?: string }[] };
    expect(directives.gates.map((g) => [g.gate, g.state, g.message]).sort()).toEqual([
      ['east', 'hold', text],
      ['north', 'hold', text],
      ['south', 'hold', text],
    ]);
    const { entries } = (await (await fleet.api(`/api/v1/events/${EVENT}/audit?limit=20`)).json()) as { entries: { action: string; target: string }[] };
    expect(entries.filter((e) => e.action === 'announce.send' && e.target === sent.id)).toHaveLength(1);
    expect(entries.filter((e) => e.action === 'gate.state').length).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('counts each screen that showed it once: gate screens through their agent, pages through announce.shown; only staff see the counts', async () => {
    const list = (await (await fleet.api(`/api/v1/events/${EVENT}/announcements?limit=1`)).json()) as { id: string; level: string }[];
    const id = list[0]!.id;
    expect(list[0]).toMatchObject({ level: 'emergency', holdGates: true, shown: { gates: 0, audience: 0, projectors: 0, consoles: 0 } });

    // The gate screen (north's page) says it showed the emergency; twice, as a reloaded page would.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${fleet.agents.get('north-1')!.url}/announcements/shown`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: [id] }) });
      expect(res.status).toBe(200);
    }
    const bad = await fetch(`${fleet.agents.get('north-1')!.url}/announcements/shown`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: [] }) });
    expect(bad.status).toBe(400);
    await control.next((f) => f.op === 'msg' && f.topic === `event/${EVENT}/announcements/shown` && (f.data as { shown: { gates: number } }).shown.gates === 1, 10_000);

    // Audience pages and a projector report over /ws.
    const attendee = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'guest-1', role: 'attendee', events: [EVENT] }));
    try {
      expect(ok(await attendee.command('announce.shown', { event: EVENT, ids: [id], screen: 'audience', client: 'tab-aaaaaaaa' }))).toEqual({ recorded: 1 });
      expect(ok(await attendee.command('announce.shown', { event: EVENT, ids: [id], screen: 'audience', client: 'tab-aaaaaaaa' }))).toEqual({ recorded: 1 });
      expect(ok(await attendee.command('announce.shown', { event: EVENT, ids: [id, 'not-an-announcement'], screen: 'audience', client: 'tab-bbbbbbbb' }))).toEqual({ recorded: 1 });
      // Gate screens are counted from the gates only.
      expect(await attendee.command('announce.shown', { event: EVENT, ids: [id], screen: 'gate', client: 'tab-cccccccc' })).toMatchObject({ op: 'err', code: 'invalid' });
      // The counts are the control room's.
      expect(await attendee.subscribe(`event/${EVENT}/announcements/shown`)).toMatchObject({ op: 'err', code: 'forbidden' });
      const seen = (await (await fetch(`http://127.0.0.1:${fleet.hubPort}/api/v1/events/${EVENT}/announcements?limit=1`, { headers: { authorization: `Bearer ${await minter.mint({ sub: 'guest-1', role: 'attendee', events: [EVENT] })}` } })).json()) as Record<string, unknown>[];
      expect(seen[0]).not.toHaveProperty('shown');
    } finally {
      await attendee.close();
    }
    ok(await control.command('announce.shown', { event: EVENT, ids: [id], screen: 'projector', client: 'projector-main' }));
    await until(async () => countsOf(control, id), (c) => c?.audience === 2 && c.projectors === 1 && c.gates === 1, 'counts published', 10_000);
    const stored = (await (await fleet.api(`/api/v1/events/${EVENT}/announcements?limit=1`)).json()) as { shown: unknown }[];
    expect(stored[0]!.shown).toEqual({ gates: 1, audience: 2, projectors: 1, consoles: 0 });
  }, 30_000);

  it('a gate that writes the announcements entry is closed 4403 and the emergency is unchanged', async () => {
    const gate = await GateClient.connect(fleet.hubPort, EVENT, await minter.mint({ sub: 'east-1', role: 'gate', events: [EVENT], gate: 'east' }));
    await gate.until((doc) => (doc.getMap('directives').get('announcements') as { emergency?: unknown } | undefined)?.emergency != null);
    gate.doc.getMap('directives').set('announcements', { emergency: null, recent: [] });
    expect(await gate.nextClose()).toBe(CloseCode.forbidden);
    gate.close();
    expect((await notices('north-1')).emergency).not.toBeNull();
  }, 30_000);

  it('ending the emergency with "reopen gates" lifts the takeover and the holds everywhere; ending it again is a conflict', async () => {
    const { emergency } = await notices('north-1');
    const ended = ok(await control.command('announce.end', { event: EVENT, id: emergency!.id, reopenGates: true }));
    expect(ended.reopened).toEqual(['east', 'north', 'south']);
    await control.next((f) => f.op === 'msg' && f.topic === `event/${EVENT}/announcements` && (f.data as { id: string; endedAt?: number }).id === emergency!.id && typeof (f.data as { endedAt?: number }).endedAt === 'number');
    for (const name of ['north-1', 'south-1']) {
      await until(() => notices(name), (n) => n.emergency === null, `${name} drops the emergency`, 5000);
      await until(() => scan(name), (a) => a.verdict === 'admitted', `${name} admits again`, 5000);
    }
    expect(await control.command('announce.end', { event: EVENT, id: emergency!.id })).toMatchObject({ op: 'err', code: 'conflict' });
    expect(await control.command('announce.end', { event: EVENT, id: 'nope' })).toMatchObject({ op: 'err', code: 'not_found' });
    expect(await control.command('announce.send', { event: EVENT, text: 'x', level: 'warning', holdGates: true })).toMatchObject({ op: 'err', code: 'invalid' });
  }, 30_000);
});
