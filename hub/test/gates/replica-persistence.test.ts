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
  for (let i = 0; i < 12; i++) scanAt(onA.doc, i % 2 ? 'A' : 'B');
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
