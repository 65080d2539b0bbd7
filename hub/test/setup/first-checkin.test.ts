/**
 * "CHECKED IN 3,009 of 3,000" (issue 13, item 8): a control room that adopted the summary and then saw a re-entry of a
 * ticket whose earlier scans it never saw (they were before a hub restart or its replay window) counted it again. The
 * hub now says on each check-in message whether it is the ticket's first admission (`first`), read from the check-in
 * rows in the same transaction, so a client adds exactly what the summary counts: an entry, exit and re-entry, and a
 * move into another zone are one check-in per ticket.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GateClient } from '../gates/gate-client.ts';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

let t: TestHub;
const gates: GateClient[] = [];
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  t = await startTestHub();
  expect((await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, ...json(expoEvent) })).status).toBe(201);
  const roster = ['A', 'B', 'C'].map((code) => ({ code, holder: `Holder ${code}` }));
  expect((await t.api('/api/v1/events/expo/tickets', { method: 'POST', claims: { role: 'staff' }, ...json(roster) })).status).toBe(200);
});
afterAll(async () => {
  for (const g of gates) g.close();
  await t?.close();
});

it('marks only a ticket\'s first admission as first; the count of firsts equals the summary\'s checkedIn', async () => {
  const watcher = await TestClient.connect(t.wsUrl, await t.token({ role: 'staff', events: ['expo'] }));
  await watcher.subscribe('event/expo/checkins');
  const north = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'north', events: ['expo'] }));
  const vip = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'vipdoor', events: ['expo'] }));
  gates.push(north, vip);
  const at = Date.now() - 60_000;
  north.scan({ code: 'A', gate: 'north', at });
  north.scan({ code: 'A', gate: 'north', dir: 'out', at: at + 1000 });
  north.scan({ code: 'A', gate: 'north', at: at + 2000 }); // re-entry
  north.scan({ code: 'B', gate: 'north', at: at + 3000 });
  vip.scan({ code: 'B', gate: 'vipdoor', at: at + 4000 }); // a move into the VIP lounge: admitted, not a new check-in
  north.scan({ code: 'C', gate: 'north', at: at + 5000, verdict: 'invalid' });
  await expect.poll(() => watcher.messages('event/expo/checkins').length, { timeout: 10_000 }).toBe(6);
  const flags = watcher.messages('event/expo/checkins').map((f) => {
    const d = f.data as { code: string; dir: string; verdict: string; duplicate: boolean; first?: boolean };
    return `${d.code} ${d.dir} ${d.verdict}${d.duplicate ? ' duplicate' : ''}${d.first ? ' first' : ''}`;
  });
  expect(flags.sort()).toEqual(['A in admitted', 'A in admitted first', 'A out admitted', 'B in admitted', 'B in admitted first', 'C in invalid'].sort());

  // A re-entry arriving later, as after a restart, to a client that never saw A's first scans: still not first.
  north.scan({ code: 'A', gate: 'north', dir: 'out', at: at + 6000 });
  north.scan({ code: 'A', gate: 'north', at: at + 7000 });
  await expect.poll(() => watcher.messages('event/expo/checkins').length, { timeout: 10_000 }).toBe(8);
  expect((watcher.messages('event/expo/checkins').at(-1)!.data as { first?: boolean }).first).toBe(false);

  const firsts = watcher.messages('event/expo/checkins').filter((f) => (f.data as { first?: boolean }).first).length;
  const summary = (await (await t.api('/api/v1/events/expo/checkins/summary', { claims: { role: 'staff' } })).json()) as { checkedIn: number; registered: number };
  expect(summary.checkedIn).toBe(2);
  expect(firsts).toBe(summary.checkedIn);
  expect(summary.checkedIn).toBeLessThanOrEqual(summary.registered);
  await watcher.close();
});
