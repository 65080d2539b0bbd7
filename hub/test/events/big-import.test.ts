import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/**
 * A heavy write does not freeze everyone (issue #11, item 5): a 100,000-row roster import into a real hub process on
 * its embedded Store, with a gate doc open (so the roster is projected into it too), while a control client pings.
 * On main before this the import held the event loop 9-13 s; validation and inserts now run in slices (and the roster
 * reaches the doc 1,000 tickets per write) and the ping p99 stays bounded. Not resolved: one long stall remains (see below).
 */
let hub: HubProcess;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opshub-import-'));
  hub = await startHubProcess({ DATA_DIR: dir, HUB_JWT_SECRET: testSecret });
  const res = await fetch(`${hub.httpUrl}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}` }, body: JSON.stringify({ id: 'big', name: 'Big', zones: [{ id: 'hall', name: 'Hall', capacity: 200000 }] }) });
  expect(res.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('imports 100,000 rows while a control client\'s ping p99 stays bounded', async () => {
  const staff = await minter.mint({ sub: 'staff', role: 'staff', events: ['big'] });
  const control = await TestClient.connect(hub.wsUrl, staff);
  const lines = ['code,holder,email,type,zones'];
  for (let i = 0; i < 100_000; i++) lines.push(`B${i},Holder ${i},holder${i}@example.org,general,hall`);
  const started = performance.now();
  const importing = fetch(`${hub.httpUrl}/api/v1/events/big/tickets`, { method: 'POST', headers: { authorization: `Bearer ${staff}`, 'content-type': 'text/csv' }, body: lines.join('\n') });
  let done = false;
  void importing.finally(() => (done = true));
  const rtts: number[] = [];
  while (!done) {
    const sent = performance.now();
    const from = control.frames.length;
    control.send({ op: 'ping' });
    await control.next((f) => f.op === 'pong', 60_000, from);
    rtts.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const answer = await importing;
  const seconds = (performance.now() - started) / 1000;
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ accepted: 100_000, rejected: [] });
  rtts.sort((a, b) => a - b);
  const p99 = rtts[Math.floor(rtts.length * 0.99)]!;
  const max = rtts.at(-1)!;
  console.log(`import: 100,000 rows in ${seconds.toFixed(1)} s; control ping p50 ${rtts[Math.floor(rtts.length / 2)]!.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(0)} ms over ${rtts.length} pings`);
  // Generous for a loaded CI machine. The longest single wait is printed, not bounded: one stall of seconds remains
  // (seen once at 38 s on a machine at load 18; not yet traced: roster projection into the doc or its compaction).
  expect(p99).toBeLessThan(1000);
  await control.close();
}, 180_000);
