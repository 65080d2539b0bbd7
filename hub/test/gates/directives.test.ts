/**
 * The control room's levers reaching real agents (issue 12): a zone marked full, a `refuse` policy at capacity, an
 * override, a gate on hold; through the hub, through the venue mesh to an agent that never sees the hub, and with the
 * hub stopped. Real hub process, real agents, real sockets.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckinMessage, CloseCode, GateDirectiveMessage, ZoneDirectiveMessage } from '@opshub/schema';
import { minter } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { EdgeFleet, until } from './edge-fleet.ts';
import { GateClient } from './gate-client.ts';

const EVENT = 'levers';
const event = {
  id: EVENT,
  name: 'Levers',
  zones: [
    { id: 'hall', name: 'Hall', capacity: 3, enforce: 'refuse' },
    { id: 'annex', name: 'Annex', capacity: 100 },
  ],
  gates: [
    { id: 'north', name: 'North', zone: 'hall' },
    { id: 'south', name: 'South', zone: 'hall' },
    { id: 'east', name: 'East', zone: 'annex' },
  ],
};
const code = (i: number) => `L${String(i).padStart(3, '0')}`;

interface ScanAnswer {
  verdict: string;
  redirect?: string;
  message?: string;
  override?: boolean;
}

let fleet: EdgeFleet;
let control: TestClient;

const scan = async (name: string, body: { code: string; dir?: 'in' | 'out'; override?: boolean }): Promise<ScanAnswer> => {
  const res = await fetch(`${fleet.agents.get(name)!.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dir: 'in', ...body }) });
  expect(res.status).toBe(200);
  return (await res.json()) as ScanAnswer;
};
const put = async (path: string, body: unknown) => {
  const res = await fleet.api(`/api/v1/events/${EVENT}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
/** Scans (a fresh code each time, so nothing is `already_in`) until the answer passes, within `ms`. */
const answersWithin = async (name: string, ms: number, ok: (a: ScanAnswer) => boolean, codes: () => string) => {
  const started = Date.now();
  const answer = await until(() => scan(name, { code: codes() }), ok, `${name}'s verdict`, ms);
  return { answer, elapsed: Date.now() - started };
};

beforeAll(async () => {
  fleet = await EdgeFleet.create(EVENT);
  await fleet.startHub();
  expect((await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify(event) })).status).toBe(201);
  await fleet.api(`/api/v1/events/${EVENT}/tickets`, { method: 'POST', body: JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ code: code(i), holder: `H${i}` }))) });
  const north = await fleet.startAgent('north-1', 'north');
  await until(() => fleet.status('north-1'), (s) => s.online && s.tickets === 200, 'north online');
  // South never sees the hub: paired ahead (its mesh.json copied in), meshed with north only.
  const credentials = await (await fleet.api(`/api/v1/events/${EVENT}/gates/south/mesh-credentials`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json();
  const southData = await fleet.dataDir('south-1');
  await writeFile(join(southData, 'mesh.json'), JSON.stringify(credentials), { mode: 0o600 });
  await fleet.startAgent('south-1', 'south', ['--peer', `ws://${new URL(north.url).host}`], null);
  await until(() => fleet.status('south-1'), (s) => s.peers === 1 && s.tickets === 200, 'south meshed with north, roster in');
  control = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'ops', role: 'staff', events: [EVENT] }));
  for (const topic of ['gates', 'capacity', 'checkins']) await control.subscribe(`event/${EVENT}/${topic}`);
}, 120_000);

afterAll(async () => {
  await control?.close();
  await fleet?.close();
});

describe('levers at the door', () => {
  it('a refuse zone at capacity refuses entries, exits free places, an override is admitted and reported', async () => {
    expect((await scan('north-1', { code: code(1) })).verdict).toBe('admitted');
    expect((await scan('south-1', { code: code(2) })).verdict).toBe('admitted');
    expect((await scan('north-1', { code: code(3) })).verdict).toBe('admitted');
    // South's scan reached north through the mesh: three inside, the hall is at capacity in north's replica.
    await until(() => fleet.status('north-1'), (s) => s.inside === 3, 'north sees three inside');
    const refused = await scan('north-1', { code: code(4) });
    expect(refused).toMatchObject({ verdict: 'zone_full' });
    expect(refused.message).toMatch(/3 \/ 3/);
    expect((await scan('north-1', { code: code(1), dir: 'out' })).verdict).toBe('admitted');
    expect((await scan('north-1', { code: code(4) })).verdict).toBe('admitted');
    expect((await scan('north-1', { code: code(5) })).verdict).toBe('zone_full');
    expect(await scan('north-1', { code: code(5), override: true })).toMatchObject({ verdict: 'admitted', override: true });
    await control.next((m) => m.op === 'msg' && m.topic === `event/${EVENT}/checkins` && CheckinMessage.parse(m.data).override === true, 5000);
    const overridden = control.messages(`event/${EVENT}/checkins`).map((m) => CheckinMessage.parse(m.data)).filter((m) => m.override);
    expect(overridden).toMatchObject([{ code: code(5), verdict: 'admitted', gate: 'north' }]);
  }, 30_000);

  it('a zone marked full at the hub: zone_full with the redirect within a second, at the hub’s agent and at a mesh-only agent; still with the hub stopped', async () => {
    let next = 20;
    const fresh = () => code(next++);
    const answer = await put('/zones/annex/state', { full: false });
    expect(answer).toMatchObject({ status: 200, body: { zone: 'annex', full: false, enforce: 'off' } });
    // Raise the hall's capacity policy out of the way: only `full` decides now.
    expect((await put('/zones/hall/state', { enforce: 'off' })).status).toBe(200);
    await answersWithin('north-1', 3000, (x) => x.verdict === 'admitted', fresh);
    const set = await put('/zones/hall/state', { full: true, redirect: 'annex' });
    expect(set).toMatchObject({ status: 200, body: { zone: 'hall', full: true, redirect: 'annex', enforce: 'off', by: 'admin' } });
    for (const name of ['north-1', 'south-1']) {
      const { answer: a, elapsed } = await answersWithin(name, 3000, (x) => x.verdict === 'zone_full', fresh);
      expect(a).toMatchObject({ verdict: 'zone_full', redirect: 'annex' });
      expect(elapsed).toBeLessThan(1000);
    }
    await control.next((m) => m.op === 'msg' && m.topic === `event/${EVENT}/capacity` && ZoneDirectiveMessage.safeParse(m.data).success && (m.data as { full: boolean }).full, 5000);
    await fleet.stopHub();
    await until(() => fleet.status('north-1'), (s) => !s.online, 'north sees the hub gone');
    for (const name of ['north-1', 'south-1']) expect(await scan(name, { code: fresh() })).toMatchObject({ verdict: 'zone_full', redirect: 'annex' });
    // Exits are always recorded.
    expect((await scan('north-1', { code: code(2), dir: 'out' })).verdict).toBe('admitted');
    await fleet.startHub();
    await until(() => fleet.status('north-1'), (s) => s.online, 'north back online');
    expect((await put('/zones/hall/state', { full: false })).status).toBe(200);
    await answersWithin('south-1', 3000, (x) => x.verdict === 'admitted', fresh);
  }, 90_000);

  it('a gate on hold answers gate_closed with the control room’s message; a WS command opens it again', async () => {
    let next = 60;
    const fresh = () => code(next++);
    const held = await put('/gates/north/state', { state: 'hold', message: 'Hold on: crowd in the hall' });
    expect(held).toMatchObject({ status: 200, body: { gate: 'north', state: 'hold', message: 'Hold on: crowd in the hall' } });
    const { answer, elapsed } = await answersWithin('north-1', 3000, (x) => x.verdict === 'gate_closed', fresh);
    expect(answer).toMatchObject({ verdict: 'gate_closed', message: 'Hold on: crowd in the hall' });
    expect(elapsed).toBeLessThan(1000);
    // South (another gate into the same hall) is not held.
    expect((await scan('south-1', { code: fresh() })).verdict).toBe('admitted');
    const staff = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'lead', role: 'staff', events: [EVENT] }));
    await staff.subscribe(`event/${EVENT}/gates`);
    const ok = await staff.command('gate.state', { event: EVENT, gate: 'north', state: 'open' });
    expect(ok).toMatchObject({ op: 'ok', result: { gate: 'north', state: 'open', by: 'lead' } });
    await staff.next((m) => m.op === 'msg' && m.topic === `event/${EVENT}/gates` && GateDirectiveMessage.safeParse(m.data).success && (m.data as { state: string }).state === 'open', 5000);
    await answersWithin('north-1', 3000, (x) => x.verdict === 'admitted', fresh);
    // Refused with a clear error: a gate the event does not have, a bad state, a role that may not.
    expect((await put('/gates/nowhere/state', { state: 'hold' })).status).toBe(404);
    expect((await put('/gates/north/state', { state: 'ajar' })).status).toBe(400);
    const gateToken = await minter.mint({ sub: 'north-1', role: 'gate', events: [EVENT], gate: 'north' });
    const asGate = await fetch(`http://127.0.0.1:${fleet.hubPort}/api/v1/events/${EVENT}/gates/north/state`, { method: 'PUT', headers: { authorization: `Bearer ${gateToken}`, 'content-type': 'application/json' }, body: '{"state":"closed"}' });
    expect(asGate.status).toBe(403);
    const audit = (await (await fleet.api(`/api/v1/events/${EVENT}/audit?action=gate.state`)).json()) as { entries: { action: string; target: string }[] };
    expect(audit.entries.filter((e) => e.target === 'north').length).toBeGreaterThanOrEqual(2);
    await staff.close();
  }, 60_000);

  it('a gate that writes a directive into the doc is closed 4403 and the directive is unchanged', async () => {
    expect((await put('/gates/east/state', { state: 'closed', message: 'Closed for the keynote' })).status).toBe(200);
    const gate = await GateClient.connect(fleet.hubPort, EVENT, await minter.mint({ sub: 'east-1', role: 'gate', events: [EVENT], gate: 'east' }));
    await gate.until((doc) => (doc.getMap('directives').get('gate:east') as { state?: string } | undefined)?.state === 'closed');
    gate.doc.getMap('directives').set('gate:east', { state: 'open', at: Date.now() });
    expect(await gate.nextClose()).toBe(CloseCode.forbidden);
    gate.close();
    const directives = (await (await fleet.api(`/api/v1/events/${EVENT}/directives`)).json()) as { gates: { gate: string; state: string }[] };
    expect(directives.gates.find((g) => g.gate === 'east')).toMatchObject({ state: 'closed' });
    const reader = await GateClient.connect(fleet.hubPort, EVENT, await minter.mint({ sub: 'ops', role: 'staff', events: [EVENT] }));
    expect(reader.doc.getMap('directives').get('gate:east')).toMatchObject({ state: 'closed', message: 'Closed for the keynote' });
    reader.close();
  }, 30_000);
});
