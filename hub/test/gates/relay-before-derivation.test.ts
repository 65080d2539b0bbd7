import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import { readScans } from '@opshub/replica';
import { CloseCode } from '@opshub/schema';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { GateClient } from './gate-client.ts';

/**
 * Issue #19 item 1: a gate's update reaches the other gates before, and whatever happens to, the check-ins the hub
 * derives from it. Two ways derivation can be held: the Store's one PGlite connection is taken (derivation and
 * persistence wait their turn), and PGlite is busy inside a statement (which, on the hub's own thread, would have
 * held every socket). A burst is relayed as a few merged updates, not one per scan, and the gate guard still refuses
 * a forged scan in the middle of one. Real hub, real y-websocket providers; nothing is timed tightly.
 */
/** scans in the burst tests: each gate makes half of them in one synchronous loop, as a gate's queue drains */
const BURST = 200;
const burstCode = (i: number) => `B-${String(i).padStart(3, '0')}`;

let hub: TestHub;
let north: GateClient;
let vip: GateClient;

beforeAll(async () => {
  hub = await startTestHub();
  expect((await hub.api('/api/v1/events', { method: 'POST', body: JSON.stringify(expoEvent), headers: { 'content-type': 'application/json' }, claims: { role: 'admin', events: ['*'] } })).status).toBe(201);
  const roster = [{ code: 'R-1', holder: 'Ada' }, { code: 'R-2', holder: 'Bo' }, ...Array.from({ length: BURST }, (_, i) => ({ code: burstCode(i), holder: `Burst ${i}` }))];
  expect((await hub.api('/api/v1/events/expo/tickets', { method: 'POST', body: JSON.stringify(roster), headers: { 'content-type': 'application/json' }, claims: { role: 'admin', events: ['*'] } })).status).toBe(200);
  north = await GateClient.connect(hub.port, 'expo', await hub.token({ role: 'gate', gate: 'north' }));
  vip = await GateClient.connect(hub.port, 'expo', await hub.token({ role: 'gate', gate: 'vipdoor' }));
  await vip.until((doc) => doc.getMap('tickets').size === 2 + BURST);
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

/**
 * Takes the Store's one PGlite connection in a transaction that waits: while it is held nothing is derived or stored.
 * Resolves once the transaction has begun; `free()` ends it.
 */
async function holdStore(): Promise<{ free: () => Promise<void> }> {
  let release!: () => void;
  let holding!: () => void;
  const taken = new Promise<void>((resolve) => (holding = resolve));
  const held = hub.backends.store.db.transaction().execute(async () => {
    holding();
    await new Promise<void>((resolve) => (release = resolve));
  });
  await taken;
  return {
    free: async () => {
      release();
      await held;
    },
  };
}

it("relays a gate's scan to another gate while the Store is held, and derives its check-in once it is free", async () => {
  // PGlite has one connection: while this transaction holds it, nothing is derived (or stored) at all.
  const store = await holdStore();
  try {
    const scan = north.scan({ code: 'R-1', gate: 'north' });
    await vip.until((doc) => readScans(doc).some((s) => s.scanId === scan.scanId), 20_000);
  } finally {
    await store.free();
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

it('relays a burst from two gates to a third as a few merged updates while the Store is held, and derives every check-in after', async () => {
  const reader = await GateClient.connect(hub.port, 'expo', await hub.token({ role: 'staff' }));
  try {
    // Updates the reader's provider applied: one per relayed message.
    let received = 0;
    reader.doc.on('update', (_update: Uint8Array, origin: unknown) => {
      if (origin === reader.provider) received++;
    });
    const before = await checkedIn();
    const store = await holdStore();
    const ids = new Set<string>();
    try {
      for (let i = 0; i < BURST; i++) {
        const [gate, client] = i % 2 === 0 ? (['north', north] as const) : (['vipdoor', vip] as const);
        ids.add(client.scan({ code: burstCode(i), gate }).scanId);
      }
      // Neither persisted nor derived yet (the Store is held), and still at the reader.
      await reader.until((doc) => readScans(doc).filter((s) => ids.has(s.scanId)).length === BURST, 20_000);
    } finally {
      await store.free();
    }
    // One message per scan (as before issue #19) would be 200; a socket's frames read in one turn are one update.
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(BURST / 4);
    await eventually(checkedIn, before + BURST);
  } finally {
    reader.close();
  }
}, 60_000);

it('refuses a forged scan in the middle of a burst: the scans before it are relayed, the socket is closed, nothing after it lands', async () => {
  const forger = await GateClient.connect(hub.port, 'expo', await hub.token({ role: 'gate', gate: 'north' }));
  try {
    const batch = Y.transact(forger.doc, () => [forger.scan({ code: 'R-1', gate: 'north', dir: 'out' }), forger.scan({ code: 'R-2', gate: 'north', dir: 'out' })]);
    const before = batch.map((s) => s.scanId);
    // Each in its own transaction: three frames in one synchronous run, handled in one turn at the hub.
    const valid = forger.scan({ code: 'R-1', gate: 'north', dir: 'in' });
    const closed = forger.nextClose(10_000);
    const forged = forger.scan({ code: 'R-2', gate: 'vipdoor' });
    const after = forger.scan({ code: 'R-2', gate: 'north', dir: 'in' });
    expect(await closed).toBe(CloseCode.forbidden);
    await vip.until((doc) => readScans(doc).filter((s) => [...before, valid.scanId].includes(s.scanId)).length === 3, 20_000);
    expect(readScans(vip.doc).some((s) => s.scanId === forged.scanId || s.scanId === after.scanId)).toBe(false);
  } finally {
    forger.close();
  }
}, 60_000);
