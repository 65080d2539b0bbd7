/**
 * The `duplicate` flag on `event/{e}/checkins` (issue 12): a partition healed in either order, every duplicate
 * admission is flagged on the stream. When the later admission syncs first it looks like a first entry and is
 * published unflagged; the earlier one arriving makes it a duplicate, and a `correction` message says so.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AlertMessage, CheckinMessage } from '@opshub/schema';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { GateClient } from './gate-client.ts';

let t: TestHub;
let watcher: TestClient;
const open: GateClient[] = [];
const gate = async () => {
  const client = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'north' }));
  open.push(client);
  return client;
};
const checkins = () => watcher.messages('event/expo/checkins').map((m) => CheckinMessage.parse(m.data));
/** The flag a consumer holds for each scan after applying every message (corrections replace). */
const flags = () => new Map(checkins().map((m) => [m.scanId, m.duplicate]));

beforeAll(async () => {
  t = await startTestHub();
  expect((await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify(expoEvent) })).status).toBe(201);
  const roster = Array.from({ length: 10 }, (_, i) => ({ code: `D${i}`, holder: `H${i}` }));
  expect((await t.api('/api/v1/events/expo/tickets', { method: 'POST', claims: { role: 'staff' }, body: JSON.stringify(roster) })).status).toBe(200);
  watcher = await TestClient.connect(t.wsUrl, await t.token({ role: 'staff' }));
  await watcher.subscribe('event/expo/checkins');
  await watcher.subscribe('event/expo/alerts');
});
afterAll(async () => {
  for (const client of open) client.close();
  await watcher?.close();
  await t?.close();
});

it('flags every duplicate admission on the check-ins stream, whichever admission syncs first', async () => {
  const [a, b] = [await gate(), await gate()];
  const now = Date.now();
  // Earlier first: the second admission is published flagged.
  const early1 = a.scan({ code: 'D1', gate: 'north', at: now - 5000 });
  await watcher.next((f) => f.op === 'msg' && (f.data as { scanId?: string }).scanId === early1.scanId, 5000);
  const late1 = b.scan({ code: 'D1', gate: 'north', at: now });
  // Later first: published as a first entry, then corrected once the earlier one arrives.
  const late2 = b.scan({ code: 'D2', gate: 'north', at: now });
  await watcher.next((f) => f.op === 'msg' && (f.data as { scanId?: string }).scanId === late2.scanId, 5000);
  expect(checkins().find((m) => m.scanId === late2.scanId)).toMatchObject({ duplicate: false });
  const early2 = a.scan({ code: 'D2', gate: 'north', at: now - 5000 });
  await watcher.next((f) => f.op === 'msg' && (f.data as { scanId?: string; correction?: boolean }).scanId === late2.scanId && f.data !== undefined && (f.data as { correction?: boolean }).correction === true, 5000);

  const alerts = watcher.messages('event/expo/alerts').map((m) => AlertMessage.parse(m.data)).filter((x) => x.kind === 'duplicate_admission');
  expect(alerts).toHaveLength(2);
  const flagged = flags();
  expect(flagged.get(late1.scanId)).toBe(true);
  expect(flagged.get(late2.scanId)).toBe(true);
  expect(flagged.get(early1.scanId)).toBe(false);
  expect(flagged.get(early2.scanId)).toBe(false);
  // Every duplicate the alerts name is flagged, and the correction is one message, not a new scan.
  for (const alert of alerts) expect(flagged.get((alert.detail as { second: { scanId: string } }).second.scanId)).toBe(true);
  expect(checkins().filter((m) => m.correction)).toMatchObject([{ scanId: late2.scanId, duplicate: true, correction: true, code: 'D2', gate: 'north', device: b.device }]);
  expect(checkins().filter((m) => !m.correction)).toHaveLength(4);
});
