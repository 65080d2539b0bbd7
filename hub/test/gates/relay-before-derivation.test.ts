import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readScans } from '@opshub/replica';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { GateClient } from './gate-client.ts';

/**
 * Issue #19 item 1: a gate's update reaches the other gates before, and whatever happens to, the check-ins the hub
 * derives from it. Two ways derivation can be held: the Store's one PGlite connection is taken (derivation and
 * persistence wait their turn), and PGlite is busy inside a statement (which, on the hub's own thread, would have
 * held every socket). Real hub, real y-websocket providers; nothing is timed tightly.
 */
let hub: TestHub;
let north: GateClient;
let vip: GateClient;

beforeAll(async () => {
  hub = await startTestHub();
  expect((await hub.api('/api/v1/events', { method: 'POST', body: JSON.stringify(expoEvent), headers: { 'content-type': 'application/json' }, claims: { role: 'admin', events: ['*'] } })).status).toBe(201);
  const roster = [{ code: 'R-1', holder: 'Ada' }, { code: 'R-2', holder: 'Bo' }];
  expect((await hub.api('/api/v1/events/expo/tickets', { method: 'POST', body: JSON.stringify(roster), headers: { 'content-type': 'application/json' }, claims: { role: 'admin', events: ['*'] } })).status).toBe(200);
  north = await GateClient.connect(hub.port, 'expo', await hub.token({ role: 'gate', gate: 'north' }));
  vip = await GateClient.connect(hub.port, 'expo', await hub.token({ role: 'gate', gate: 'vipdoor' }));
  await vip.until((doc) => doc.getMap('tickets').size === 2);
}, 60_000);

afterAll(async () => {
  north?.close();
  vip?.close();
  await hub?.close();
});

async function checkedIn(): Promise<number> {
  const response = await hub.api('/api/v1/events/expo/checkins/summary', { claims: { role: 'staff' } });
  return ((await response.json()) as { checkedIn: number }).checkedIn;
}

async function eventually(read: () => Promise<number>, want: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await read()) === want) return;
    if (Date.now() > deadline) throw new Error(`never reached ${want}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it("relays a gate's scan to another gate while the Store is held, and derives its check-in once it is free", async () => {
  let release!: () => void;
  let holding!: () => void;
  const taken = new Promise<void>((resolve) => (holding = resolve));
  // PGlite has one connection: while this transaction holds it, nothing is derived (or stored) at all.
  const held = hub.backends.store.db.transaction().execute(async () => {
    holding();
    await new Promise<void>((resolve) => (release = resolve));
  });
  await taken;
  try {
    const scan = north.scan({ code: 'R-1', gate: 'north' });
    await vip.until((doc) => readScans(doc).some((s) => s.scanId === scan.scanId), 20_000);
  } finally {
    release();
    await held;
  }
  await eventually(checkedIn, 1);
}, 60_000);

it("relays a gate's scan to another gate while PGlite is busy inside a statement", async () => {
  // A statement that keeps PGlite itself busy (as deriving a burst's check-ins does) for seconds. Were PGlite on the
  // hub's thread, no frame would be read until it returned, and the scan would reach the other gate only after.
  let sleeping = true;
  let began!: () => void;
  const taken = new Promise<void>((resolve) => (began = resolve));
  const busy = hub.backends.store.db
    .transaction()
    .execute(async (trx) => {
      began();
      await sql`select pg_sleep(6)`.execute(trx);
    })
    .finally(() => (sleeping = false));
  await taken;
  const scan = north.scan({ code: 'R-2', gate: 'north' });
  await vip.until((doc) => readScans(doc).some((s) => s.scanId === scan.scanId), 20_000);
  expect(sleeping).toBe(true);
  await busy;
  await eventually(checkedIn, 2);
}, 60_000);
