/**
 * The control room's levers and its announcements go first on the Store (`Store.urgentDb`): with PGlite's one
 * session taken and ordinary transactions queued behind it (a burst's check-ins, in the field), a gate hold over
 * REST and an emergency over a WS command are answered before most of the queue has run, and the hold reaches the
 * gate. Without the priority both would wait for every transaction queued before them.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gateDirective } from '@opshub/replica';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { GateClient } from './gate-client.ts';

/** ordinary transactions queued behind the one holding the session, each holding it this long */
const QUEUED = 10;
const HOLD_MS = 200;

let t: TestHub;
let gate: GateClient;
let control: TestClient;

beforeAll(async () => {
  t = await startTestHub();
  expect((await t.api('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(expoEvent), claims: { role: 'admin' } })).status).toBe(201);
  // A gate on this hub holds the doc, as at a venue: the hold is projected into a loaded replica.
  gate = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'north' }));
  await gate.synced();
  control = await TestClient.connect(t.wsUrl, await t.token({ role: 'staff' }));
});

afterAll(async () => {
  gate?.close();
  await control?.close();
  await t?.close();
});

it('answers a gate hold and an emergency before the ordinary Store work queued ahead of them', async () => {
  const log: string[] = [];
  const db = t.backends.store.db;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const holder = db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx);
    await released;
  });
  await new Promise((r) => setTimeout(r, 20));
  const queued = Array.from({ length: QUEUED }, (_, i) =>
    db.transaction().execute(async (trx) => {
      log.push(`ordinary ${i + 1}`);
      await sql`select 1`.execute(trx);
      await new Promise((r) => setTimeout(r, HOLD_MS));
    }),
  );
  const hold = t
    .api('/api/v1/events/expo/gates/north/state', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'hold', message: 'Use the VIP door' }), claims: { role: 'staff' } })
    .then((res) => (log.push('hold answered'), res));
  const emergency = control.command('announce.send', { event: 'expo', text: 'Evacuate hall A', level: 'emergency' }).then((frame) => (log.push('emergency answered'), frame));
  // Both levers have asked for the session by now (one that comes later still goes ahead of what is left); then the
  // holder lets go.
  await new Promise((r) => setTimeout(r, 300));
  release();
  const [res, frame] = await Promise.all([hold, emergency, holder, ...queued]);
  expect(res.status).toBe(200);
  expect(frame).toMatchObject({ op: 'ok' });
  await gate.until((doc) => gateDirective(doc, 'north').state === 'hold');

  // Each lever takes the session a few times (read, write, projection) and an ordinary transaction may run between
  // two of them; queued first in line, they still answer long before the queue has run.
  const before = (entry: string) => log.slice(0, log.indexOf(entry)).filter((e) => e.startsWith('ordinary')).length;
  expect(before('hold answered'), log.join(', ')).toBeLessThan(QUEUED / 2);
  expect(before('emergency answered'), log.join(', ')).toBeLessThan(QUEUED / 2);
}, 30_000);
