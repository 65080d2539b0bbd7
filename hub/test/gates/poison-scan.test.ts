import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gateDocTypes, readScans } from '@opshub/replica';
import { CloseCode, type AlertMessage } from '@opshub/schema';
import { createAnalytics } from '../../src/analytics/create-analytics.ts';
import type { Analytics } from '../../src/analytics/analytics.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { Hub } from '../../src/hub.ts';
import { createLogger } from '../../src/log.ts';
import { PgliteStore } from '../../src/store/pglite/pglite-store.ts';
import { expoEvent, minter } from '../support/test-hub.ts';
import { GateClient } from './gate-client.ts';

/**
 * One scan must never stop an event's counting (issue #11, item 1). A scan whose `at` the Store cannot hold is refused
 * at the hub's edge; a record the Store refuses anyway (here: a trigger standing for any record the database will not
 * take) is isolated, set aside, alerted on once and skipped; every other scan is counted, also after a restart.
 */
let dir: string;
let analytics: Analytics;
let hub: Hub | undefined;
let store: PgliteStore;
const clients: GateClient[] = [];

/** A real hub on a PGlite folder; restarting it opens the same folder. Analytics (chDB, one per process) outlives it. */
async function startHub(): Promise<Hub> {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  // The same engine with start and close made no-ops; every other member is the real one's, called on it (a
  // prototype-derived copy would break on its private fields).
  const keepOpen = new Proxy(analytics, {
    get(target, key) {
      if (key === 'start' || key === 'close') return async () => {};
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  store = new PgliteStore({ dataDir: dir, template: process.env.PGLITE_TEMPLATE });
  const started = new Hub({ backends: { bus: new MemoryBus(), store, analytics: keepOpen }, verifier: minter, log, host: '127.0.0.1', port: 0 });
  await started.start();
  return started;
}
const api = async (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${hub!.port}${path}`, { ...init, headers: { authorization: `Bearer ${await minter.mint({ sub: 'staff-1', role: 'staff', events: ['expo'] })}` } });
const gate = async (): Promise<GateClient> => {
  const client = await GateClient.connect(hub!.port, 'expo', await minter.mint({ sub: 'gate-north', role: 'gate', events: ['expo'], gate: 'north' }));
  clients.push(client);
  return client;
};
const summary = async () => (await (await api('/api/v1/events/expo/checkins/summary')).json()) as { checkedIn: number; inside: number };
const alerts = async () => (await (await api('/api/v1/events/expo/alerts')).json()) as AlertMessage[];
/** The hub has derived every scan it holds (an observable condition, awaited). */
const derived = async () => {
  const deadline = Date.now() + 15_000;
  while (!hub!.checkinsIdle && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(hub!.checkinsIdle).toBe(true);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opshub-poison-'));
  analytics = createAnalytics({ dataDir: dir, flushMs: 50 });
  await analytics.start();
  hub = await startHub();
  const admin = await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
  expect((await fetch(`http://127.0.0.1:${hub.port}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify(expoEvent) })).status).toBe(201);
  const roster = ['T1', 'T2', 'T3', 'T4', 'T5', 'POISON'].map((code) => ({ code, holder: `Holder ${code}` }));
  expect((await api('/api/v1/events/expo/tickets', { method: 'POST', body: JSON.stringify(roster) })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await hub?.close();
  await analytics?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('refuses scans dated past what the Store holds or far from the hub clock, and counts every other scan, also after a restart', async () => {
  // Written straight into the map: appendScan would refuse them before they ever left the "gate".
  for (const at of [Date.UTC(10_000, 0, 1), Date.now() + 10 * 365 * 86_400_000]) {
    const forger = GateClient.open(hub!.port, 'expo', await minter.mint({ sub: 'gate-north', role: 'gate', events: ['expo'], gate: 'north' }));
    clients.push(forger);
    await forger.synced();
    gateDocTypes(forger.doc).scans.set(randomUUID(), { code: 'T1', gate: 'north', device: 'forger', dir: 'in', at, verdict: 'admitted' });
    expect(await forger.nextClose()).toBe(CloseCode.invalidPayload);
    forger.close();
  }

  // The Store refuses one record from here on, as it would any value it cannot hold.
  await sql`create function trust_test_refuse() returns trigger language plpgsql as $$
    begin if new.code = 'POISON' then raise exception 'refused for the test' using errcode = 'check_violation'; end if; return new; end $$`.execute(store.db);
  await sql`create trigger trust_test_refuse before insert on checkins for each row execute function trust_test_refuse()`.execute(store.db);

  const a = await gate();
  // One transaction, so the refused record shares its batch with good ones.
  a.doc.transact(() => ['T1', 'POISON', 'T2', 'T3'].forEach((code, i) => a.scan({ code, gate: 'north', at: Date.now() - 1000 + i })));
  const later = await gate();
  later.scan({ code: 'T4', gate: 'north' });
  await derived();
  expect(await summary()).toMatchObject({ checkedIn: 4, inside: 4 });
  const setAside = (await alerts()).filter((alert) => alert.kind === 'scan_set_aside');
  expect(setAside).toHaveLength(1);
  expect(setAside[0]!.detail).toMatchObject({ scan: { code: 'POISON', gate: 'north' } });
  expect(readScans(a.doc).every((scan) => scan.at < Date.now() + 60_000)).toBe(true);

  for (const client of clients.splice(0)) client.close();
  await hub!.close();
  hub = await startHub();
  const after = await gate();
  after.scan({ code: 'T5', gate: 'north' });
  await after.until((doc) => readScans(doc).length === 6);
  await derived();
  expect(await summary()).toMatchObject({ checkedIn: 5, inside: 5 });
  expect((await alerts()).filter((alert) => alert.kind === 'scan_set_aside')).toHaveLength(1);
}, 90_000);
