import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gateDocTypes, scanMac, type MeshCredentials } from '@opshub/replica';
import { CloseCode, type AlertMessage } from '@opshub/schema';
import { saveMeshCredentials } from '../../../edge-agent/src/mesh-credentials.ts';
import { spawnAgent, type AgentProcess } from '../../../edge-agent/test/helpers.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { GateClient } from './gate-client.ts';

/**
 * Issue #11, items 2 and 3, end to end with real processes: a hub, a gate agent linked to it, and a second gate agent
 * that reaches the hub only through the venue mesh. Pairing hands out mesh credentials; the hub takes scans of a
 * gate only from that gate's token or as a relay carrying that gate's MAC; what it cannot reproduce (an unknown or
 * revoked code, or a zone the ticket does not admit to, "admitted") is set aside and alerted on, naming the gate;
 * presence is taken only for the writer's own gate. The summary stays exact.
 */
const event = {
  id: 'claims',
  name: 'Claims',
  zones: [
    { id: 'hall', name: 'Hall', capacity: 500 },
    { id: 'vip', name: 'VIP', capacity: 50 },
  ],
  gates: [
    { id: 'north', name: 'North', zone: 'hall' },
    { id: 'south', name: 'South', zone: 'hall' },
    { id: 'vipdoor', name: 'VIP door', zone: 'vip' },
  ],
};
const roster = [
  ...['T1', 'T2', 'T3', 'T4'].map((code) => ({ code, holder: `Holder ${code}` })),
  { code: 'T5', holder: 'Vip Only', zones: ['vip'] },
  { code: 'T6', holder: 'Refunded' },
];

let hub: HubProcess;
const dirs: string[] = [];
const agents: AgentProcess[] = [];
const clients: GateClient[] = [];
let control: TestClient;

const token = (claims: { role: string; gate?: string; sub?: string }) => minter.mint({ sub: claims.sub ?? `${claims.role}-${claims.gate ?? 'x'}`, events: ['claims'], ...claims } as never);
const api = async (path: string, init: RequestInit & { as?: Parameters<typeof token>[0] } = {}) =>
  fetch(`${hub.httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${await token(init.as ?? { role: 'staff' })}`, 'content-type': 'application/json' } });
const pair = async (gate: string, as: Parameters<typeof token>[0]) => api(`/api/v1/events/claims/gates/${gate}/mesh-credentials`, { method: 'POST', body: '{}', as });
const status = async (agent: AgentProcess) => (await (await fetch(`${agent.url}/status`)).json()) as { paired: boolean; peers: number; online: boolean; scans: number };
const scanAt = async (agent: AgentProcess, code: string) =>
  (await (await fetch(`${agent.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir: 'in' }) })).json()) as { verdict: string; scanId: string };
const summary = async () => (await (await api('/api/v1/events/claims/checkins/summary')).json()) as { registered: number; checkedIn: number; inside: number; byZone: Record<string, { inside: number }>; byGate: Record<string, unknown> };
const alerts = async () => (await (await api('/api/v1/events/claims/alerts')).json()) as AlertMessage[];

/** Polls an observable condition (a process's HTTP answer) until it holds; fails after `ms`. */
async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const hubData = await mkdtemp(join(tmpdir(), 'opshub-claims-hub-'));
  dirs.push(hubData);
  hub = await startHubProcess({ DATA_DIR: hubData, HUB_JWT_SECRET: testSecret });
  expect((await api('/api/v1/events', { method: 'POST', body: JSON.stringify(event), as: { role: 'admin' } })).status).toBe(201);
  expect((await api('/api/v1/events/claims/tickets', { method: 'POST', body: JSON.stringify(roster) })).status).toBe(200);
  expect((await api('/api/v1/events/claims/tickets/T6/revoke', { method: 'POST', body: '{}' })).status).toBe(200);
  control = await TestClient.connect(hub.wsUrl, await token({ role: 'staff' }));
  await control.subscribe('event/claims/gates');
}, 120_000);

afterAll(async () => {
  control?.socket.terminate();
  for (const client of clients) client.close();
  for (const agent of agents) {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
  await hub?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

it('pairs a gate only for its own gate, and a gate reached only through the mesh is counted through a verified relay', async () => {
  expect((await pair('south', { role: 'gate', gate: 'north' })).status).toBe(403);
  expect((await pair('north', { role: 'attendee' })).status).toBe(403);
  expect((await pair('nowhere', { role: 'staff' })).status).toBe(404);
  const south = (await (await pair('south', { role: 'gate', gate: 'south' })).json()) as MeshCredentials;
  expect(south).toMatchObject({ event: 'claims', gate: 'south' });

  // North: linked to the hub, pairs itself. South: no hub at all, paired earlier (mesh.json), dials north.
  const northData = await mkdtemp(join(tmpdir(), 'opshub-claims-north-'));
  const southData = await mkdtemp(join(tmpdir(), 'opshub-claims-south-'));
  dirs.push(northData, southData);
  const north = await spawnAgent(['--hub', `ws://127.0.0.1:${hub.port}`, '--event', 'claims', '--gate', 'north', '--token', await token({ role: 'gate', gate: 'north' }), '--port', '0', '--host', '127.0.0.1', '--data', northData]);
  agents.push(north);
  await until('north paired and online', () => status(north), (s) => s.paired && s.online);
  await saveMeshCredentials(southData, south);
  const southAgent = await spawnAgent(['--event', 'claims', '--gate', 'south', '--token', await token({ role: 'gate', gate: 'south' }), '--port', '0', '--host', '127.0.0.1', '--data', southData, '--peer', `ws://${new URL(north.url).host}`]);
  agents.push(southAgent);
  await until('south meshed with north', () => status(southAgent), (s) => s.paired && s.peers === 1 && s.scans >= 0);
  await until('south has the roster', async () => (await (await fetch(`${southAgent.url}/lookup?q=T1`)).json()) as { results: unknown[] }, (r) => r.results.length === 1);

  expect((await scanAt(north, 'T1')).verdict).toBe('admitted');
  expect((await scanAt(southAgent, 'T2')).verdict).toBe('admitted');
  await until('both real admissions counted', summary, (s) => s.checkedIn === 2, 30_000);
}, 120_000);

it('refuses scans in another gate\'s name, sets aside admissions it cannot reproduce with an alert naming the gate, ignores presence for other gates; the summary stays exact', async () => {
  const northToken = await token({ role: 'gate', gate: 'north', sub: 'forger' });
  const south = (await (await pair('south', { role: 'staff' })).json()) as MeshCredentials;
  const north = (await (await pair('north', { role: 'staff' })).json()) as MeshCredentials;

  // A scan in south's name from north's token: without a MAC, and with a MAC made with north's own key.
  const forge = (mac?: (scan: object) => string, code = 'T3') => {
    const base = { scanId: randomUUID(), code, gate: 'south', device: 'forger', dir: 'in' as const, at: Date.now(), verdict: 'admitted' as const };
    return { ...base, ...(mac && { mac: mac(base) }) };
  };
  for (const scan of [forge(), forge((s) => scanMac(north.scanKey, s as never))]) {
    const forger = await GateClient.connect(hub.port, 'claims', northToken);
    clients.push(forger);
    const { scanId, ...stored } = scan;
    gateDocTypes(forger.doc).scans.set(scanId, stored);
    expect(await forger.nextClose()).toBe(CloseCode.forbidden);
    forger.close();
  }
  // The same in south's name with south's real MAC is a relay, and is counted.
  const relay = await GateClient.connect(hub.port, 'claims', northToken);
  clients.push(relay);
  const { scanId: relayedId, ...relayed } = forge((s) => scanMac(south.scanKey, s as never), 'T4');
  gateDocTypes(relay.doc).scans.set(relayedId, relayed);

  // In north's own name: admissions the hub cannot reproduce.
  const before = (await alerts()).length;
  relay.scan({ code: 'NO-SUCH-CODE', gate: 'north' });
  relay.scan({ code: 'T6', gate: 'north' });
  relay.scan({ code: 'T5', gate: 'north' });
  // Presence in another gate's name, then in its own.
  relay.provider.awareness.setLocalState({ gate: 'vipdoor', device: 'vip-1', online: false, pending: 0, lastScan: null });
  relay.provider.awareness.setLocalState({ gate: 'north', device: relay.device, online: true, pending: 0, lastScan: null });
  await control.next((f) => f.op === 'msg' && f.topic === 'event/claims/gates' && (f.data as { device: string }).device === relay.device, 15_000);
  expect(control.frames.filter((f) => f.op === 'msg' && (f.data as { gate?: string }).gate === 'vipdoor')).toEqual([]);

  const disputed = await until('three disputed admissions', alerts, (list) => list.filter((a) => a.kind === 'disputed_admission').length === 3);
  expect(disputed.length - before).toBeGreaterThanOrEqual(3);
  for (const alert of disputed.filter((a) => a.kind === 'disputed_admission')) expect(alert.title).toContain('north');

  const final = await until('T4 relayed and counted', summary, (s) => s.checkedIn === 3);
  expect(final).toMatchObject({ registered: 5, checkedIn: 3, inside: 3 });
  expect(Object.values(final.byZone).reduce((sum, z) => sum + z.inside, 0)).toBe(final.inside);
}, 120_000);

it('refuses a relayed scan whose override was added or removed on the way (the scan MAC covers it); an intact override relay is counted', async () => {
  const relayerToken = await token({ role: 'gate', gate: 'north', sub: 'relayer' });
  const south = (await (await pair('south', { role: 'staff' })).json()) as MeshCredentials;
  expect((await api('/api/v1/events/claims/tickets', { method: 'POST', body: JSON.stringify([{ code: 'T7', holder: 'Over Ride' }, { code: 'T8', holder: 'Flip Ped' }]) })).status).toBe(200);
  const before = await until('T7 and T8 registered', summary, (s) => s.registered === 7);
  const record = (code: string, override: boolean) => ({
    scanId: randomUUID(),
    code,
    gate: 'south',
    device: 'south-desk',
    dir: 'in' as const,
    at: Date.now(),
    verdict: 'admitted' as const,
    ...(override && { override: true as const }),
  });
  // A refusal passed off as an override (MACed without the flag, relayed with it), and an override hidden (MACed
  // with the flag, relayed without it): both are a gate speaking for another, closed 4403.
  const plain = record('T8', false);
  const passedOff = { ...plain, mac: scanMac(south.scanKey, plain), override: true as const };
  const overridden = record('T8', true);
  const { override: _dropped, ...hidden } = { ...overridden, mac: scanMac(south.scanKey, overridden) };
  for (const scan of [passedOff, hidden]) {
    const relayer = await GateClient.connect(hub.port, 'claims', relayerToken);
    clients.push(relayer);
    const { scanId, ...stored } = scan;
    gateDocTypes(relayer.doc).scans.set(scanId, stored);
    expect(await relayer.nextClose()).toBe(CloseCode.forbidden);
    relayer.close();
  }
  // The same override relayed as south made it: verified, and counted.
  const intact = record('T7', true);
  const relay = await GateClient.connect(hub.port, 'claims', relayerToken);
  clients.push(relay);
  const { scanId, ...stored } = { ...intact, mac: scanMac(south.scanKey, intact) };
  gateDocTypes(relay.doc).scans.set(scanId, stored);
  const after = await until('the intact override relay counted', summary, (s) => s.checkedIn === before.checkedIn + 1);
  expect(after.inside).toBe(before.inside + 1);
}, 120_000);

it('an agent started for a gate the event does not have exits non-zero with a message naming the gate (issue #12, item 4)', async () => {
  const data = await mkdtemp(join(tmpdir(), 'opshub-claims-g9-'));
  dirs.push(data);
  const args = ['--hub', `ws://127.0.0.1:${hub.port}`, '--event', 'claims', '--gate', 'g9', '--token', await token({ role: 'gate', gate: 'g9' }), '--port', '0', '--host', '127.0.0.1', '--data', data];
  // It may listen before the hub refuses it, or (on a fast hub) exit before it listens: either way it exits 3.
  const outcome = await spawnAgent(args).then(
    async (agent) => {
      agents.push(agent);
      return { code: await agent.exited, output: agent.output() };
    },
    (error: Error) => ({ code: Number(/exited with (\d+)/.exec(error.message)?.[1]), output: error.message }),
  );
  expect(outcome.code).toBe(3);
  expect(outcome.output).toContain('the hub refused gate "g9": event "claims" has no such gate');
}, 120_000);
