import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendScan, gateDocTypes, readScans } from '@opshub/replica';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createLogger } from '../../src/log.ts';
import { ReplicaHost } from '../../src/replicas/replica-host.ts';
import { PgliteStore } from '../../src/store/pglite/pglite-store.ts';
import { createEvent } from '../../src/store/repos/events-repo.ts';
import { importTickets } from '../../src/store/repos/tickets-repo.ts';

/** Two hubs on one Store whose bus signals do not reach each other: the Store pull must carry the scans across. */
const store = new PgliteStore();
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const options = { idleUnloadMs: 60_000, antiEntropyMs: 50, persistDelayMs: 5, compactAfter: 5 };
let a: ReplicaHost;
let b: ReplicaHost;
const gateOrigin = { kind: 'socket', id: 1, role: 'gate', sub: 'gate-1' };

beforeAll(async () => {
  await store.start();
  await createEvent(store.db, { id: 'p', name: 'P', timezone: 'UTC', zones: [{ id: 'hall', name: 'Hall', capacity: 10 }], gates: [{ id: 'g', name: 'G', zone: 'hall' }] });
  await importTickets(store.db, 'p', [{ code: 'A' }, { code: 'B' }]);
  a = new ReplicaHost({ store, bus: new MemoryBus(), log }, options);
  b = new ReplicaHost({ store, bus: new MemoryBus(), log }, options);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await store.close();
});

const scanAt = (doc: Y.Doc, code: string) =>
  appendScan(doc, { scanId: randomUUID(), code, gate: 'g', device: 'dev-1', dir: 'in', at: Date.now(), verdict: 'admitted' }, gateOrigin);

/** Appends a scan and waits until the host has stored it (a new update row, or a compaction that folded it). */
async function scanAsOwnRow(doc: Y.Doc, code: string): Promise<void> {
  // The highest id stored, in the log or folded into a snapshot (a compaction deletes log rows, never lowers `upto`).
  const stored = async () => {
    const log = await store.db.selectFrom('yjs_updates').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
    const folded = await store.db.selectFrom('yjs_snapshots').select((eb) => eb.fn.max('upto').as('upto')).executeTakeFirst();
    return [log?.id, folded?.upto].reduce<bigint>((high, id) => (id != null && BigInt(id) > high ? BigInt(id) : high), 0n);
  };
  const before = await stored();
  scanAt(doc, code);
  const deadline = Date.now() + 5000;
  while ((await stored()) === before) {
    if (Date.now() > deadline) throw new Error('the scan was never stored');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('loads the roster into a new doc and carries a scan to another hub through the Store when no signal arrives', async () => {
  const onA = await a.acquire('p');
  const onB = await b.acquire('p');
  expect([...gateDocTypes(onA.doc).tickets.keys()].sort()).toEqual(['A', 'B']);
  const scan = scanAt(onA.doc, 'A');
  await until(() => readScans(onB.doc).some((s) => s.scanId === scan.scanId), 'scan pulled by hub B');
  expect(onB.timeline.state('A')?.inside).toBe(true);
  a.release('p');
  b.release('p');
});

it('compacts the update log into a snapshot, and a fresh hub loads exactly the same doc', async () => {
  const onA = await a.acquire('p');
  // Apart, so each lands in its own row: compaction counts rows.
  for (let i = 0; i < 12; i++) await scanAsOwnRow(onA.doc, i % 2 ? 'A' : 'B');
  await until(() => readScans(onA.doc).length === 13, 'scans on hub A');
  let snapshots = 0;
  const deadline = Date.now() + 5000;
  while (snapshots === 0 && Date.now() < deadline) {
    snapshots = (await store.db.selectFrom('yjs_snapshots').select('doc').execute()).length;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(snapshots).toBe(1);
  const fresh = new ReplicaHost({ store, bus: new MemoryBus(), log }, options);
  // What A wrote may still be in its 5 ms batch: close A's hold so its queue is flushed first.
  a.release('p');
  await a.close();
  const loaded = await fresh.acquire('p');
  expect(Y.encodeStateVector(loaded.doc)).toEqual(Y.encodeStateVector(onA.doc));
  expect(readScans(loaded.doc).map((s) => s.scanId).sort()).toEqual(readScans(onA.doc).map((s) => s.scanId).sort());
  fresh.release('p');
  await fresh.close();
});

it("catches up on another hub's updates when its own compaction folds them, and stays past the snapshot", async () => {
  await createEvent(store.db, { id: 'q', name: 'Q', timezone: 'UTC', zones: [{ id: 'hall', name: 'Hall', capacity: 10 }], gates: [{ id: 'g', name: 'G', zone: 'hall' }] });
  await importTickets(store.db, 'q', [{ code: 'A' }, { code: 'B' }]);
  // No pulls within the test and no signals: only the compaction can carry B's scan to C.
  const quiet = { ...options, antiEntropyMs: 600_000, compactAfter: 3 };
  const b2 = new ReplicaHost({ store, bus: new MemoryBus(), log }, quiet);
  const c = new ReplicaHost({ store, bus: new MemoryBus(), log }, quiet);
  try {
    const onB = await b2.acquire('q');
    const onC = await c.acquire('q');
    const fromB = scanAt(onB.doc, 'A');
    b2.release('q');
    await b2.close(); // flushed: B's scan is a row in the Store
    for (let i = 0; i < 3; i++) await scanAsOwnRow(onC.doc, 'B');
    await until(() => readScans(onC.doc).some((s) => s.scanId === fromB.scanId), "B's scan folded into C's compaction");
    const snapshot = await store.db.selectFrom('yjs_snapshots').select('upto').where('doc', '=', onC.docName).executeTakeFirstOrThrow();
    expect(BigInt(onC.lastUpdateId)).toBeGreaterThanOrEqual(BigInt(snapshot.upto));
    c.release('q');
  } finally {
    await b2.close();
    await c.close();
  }
});
