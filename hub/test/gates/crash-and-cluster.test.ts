import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../../../edge-agent/test/helpers.ts';
import { startHubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { EdgeFleet, until } from './edge-fleet.ts';

const event = (id: string, gates = [{ id: 'main', name: 'Main', zone: 'hall' }]) => ({ id, name: id, zones: [{ id: 'hall', name: 'Hall', capacity: 1000 }], gates });
const roster = (n: number) => Array.from({ length: n }, (_, i) => ({ code: `C${String(i).padStart(4, '0')}`, holder: `H${i}` }));

describe('an agent killed with -9 mid-stream', () => {
  let fleet: EdgeFleet;
  afterAll(() => fleet?.close());

  it('loses no acknowledged scan, and the hub records each exactly once', async () => {
    fleet = await EdgeFleet.create('crash');
    await fleet.startHub();
    await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify(event('crash')) });
    await fleet.api('/api/v1/events/crash/tickets', { method: 'POST', body: JSON.stringify(roster(300)) });
    const acknowledged = new Set<string>();
    let next = 0;
    for (let round = 0; round < 4; round++) {
      const agent = await fleet.startAgent('main-1', 'main');
      await until(() => fleet.status('main-1'), (s) => s.tickets === 300, 'roster on the agent');
      // Four scans in flight at a time; the agent is killed after a random number of answers, with others pending.
      const killAfter = 3 + Math.floor(Math.random() * 20);
      let answered = 0;
      const inFlight: Promise<void>[] = [];
      const worker = async () => {
        while (answered < killAfter + 10 && agent.child.exitCode === null && agent.child.signalCode === null) {
          const code = `C${String(next++).padStart(4, '0')}`;
          try {
            const res = await fetch(`${agent.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir: 'in' }) });
            if (res.status === 200) acknowledged.add(((await res.json()) as { scanId: string }).scanId);
          } catch {
            return; // the agent is gone: this scan was never acknowledged
          }
          if (++answered === killAfter) agent.child.kill('SIGKILL');
        }
      };
      for (let w = 0; w < 4; w++) inFlight.push(worker());
      await Promise.all(inFlight);
      await agent.exited;
    }
    expect(acknowledged.size).toBeGreaterThan(0);
    await fleet.startAgent('main-1', 'main');
    await until(() => fleet.status('main-1'), (s) => s.online && s.pending === 0, 'agent caught up with the hub');

    // Every check-in message the hub ever published, replayed from the start of the topic.
    const staff = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'ops', role: 'staff', events: ['crash'] }));
    await staff.subscribe('event/crash/checkins', 0);
    const summary = await until(
      async () => (await (await fleet.api('/api/v1/events/crash/checkins/summary')).json()) as { byGate: Record<string, { scans: number }> },
      (s) => (s.byGate.main?.scans ?? 0) >= acknowledged.size,
      'acknowledged scans recorded',
    );
    await until(async () => staff.messages('event/crash/checkins').length, (n) => n === summary.byGate.main!.scans, 'messages for every check-in');
    const published = staff.messages('event/crash/checkins').map((m) => (m.data as { scanId: string }).scanId);
    expect(new Set(published).size).toBe(published.length);
    for (const scanId of acknowledged) expect(published).toContain(scanId);
    await staff.close();
  }, 120_000);
});

describeWithService('REDIS_URL', 'a gate on hub A, the control room on hub B', (redisUrl) => {
  const dirs: string[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('delivers the gate’s check-ins to a subscriber on the other hub through Redis', async () => {
    const id = `g${Date.now().toString(36)}`;
    const dir = async () => {
      const d = await mkdtemp(join(tmpdir(), 'opshub-xhub-'));
      dirs.push(d);
      return d;
    };
    // One PostgreSQL-free setup: each hub has its own embedded store; only hub A serves the gate doc.
    const [a, b] = await Promise.all([
      startHubProcess({ REDIS_URL: redisUrl, HUB_JWT_SECRET: testSecret, DATA_DIR: await dir() }),
      startHubProcess({ REDIS_URL: redisUrl, HUB_JWT_SECRET: testSecret, DATA_DIR: await dir() }),
    ]);
    stops.push(() => a.stop(), () => b.stop());
    const admin = await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
    await fetch(`${a.httpUrl}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify(event(id)) });
    await fetch(`${a.httpUrl}/api/v1/events/${id}/tickets`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify(roster(5)) });

    const onB = await TestClient.connect(b.wsUrl, await minter.mint({ sub: 'ops', role: 'staff', events: [id] }));
    await onB.subscribe(`event/${id}/checkins`);
    const agentDir = await dir();
    const agent = await spawnAgent(['--hub', `ws://127.0.0.1:${a.port}`, '--event', id, '--gate', 'main', '--token', await minter.mint({ sub: 'g', role: 'gate', events: [id], gate: 'main' }), '--port', '0', '--data', agentDir]);
    stops.push(async () => {
      agent.child.kill('SIGKILL');
      await agent.exited;
    });
    await until(async () => (await (await fetch(`${agent.url}/status`)).json()) as { online: boolean; tickets: number }, (s) => s.online && s.tickets === 5, 'agent synced');
    const scan = (await (await fetch(`${agent.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'C0002', dir: 'in' }) })).json()) as { verdict: string; scanId: string };
    expect(scan.verdict).toBe('admitted');
    const msg = await onB.next((f) => f.op === 'msg' && (f.data as { scanId: string }).scanId === scan.scanId, 5000);
    expect(msg.data).toMatchObject({ code: 'C0002', gate: 'main', zone: 'hall', holder: 'H2', verdict: 'admitted' });
    await onB.close();
  }, 90_000);
});
