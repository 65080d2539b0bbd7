import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../src/agent.ts';
import { eventDoc, EVENT, getJson, mintToken, postScan, scanArrives, seedDataDir, tempDir, ticket } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function meshedPair(): Promise<{ a: Agent; b: Agent }> {
  const roster = await eventDoc({ 'T-1': ticket(), 'T-2': ticket({ holder: 'Grace Hopper' }), 'T-3': ticket({ holder: 'Alan Turing' }) });
  const start = async (gate: string, peer?: string): Promise<Agent> => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    await seedDataDir(dir, roster);
    const agent = await startAgent({ event: EVENT, gate, token: await mintToken({ gate }), port: 0, host: '127.0.0.1', data: dir, peer: peer ? [peer] : [] });
    cleanups.push(() => agent.close());
    return agent;
  };
  // No hub anywhere: B dials A.
  const a = await start('north');
  const b = await start('south', `ws://127.0.0.1:${a.port}`);
  return { a, b };
}

describe('venue mesh without a hub', () => {
  it('a ticket admitted at one gate is already_in at the other within a second', async () => {
    const { a, b } = await meshedPair();
    const first = await postScan(a.url, { code: 'T-1', dir: 'in' });
    expect(first.body).toMatchObject({ verdict: 'admitted', ticket: { code: 'T-1', holder: 'Ada Lovelace', type: 'vip' } });

    const started = performance.now();
    const arrival = scanArrives(b, first.body.scanId);
    // The scan may already be there if the mesh was quicker than this line; then the timeline knows it.
    if (b.timeline.state('T-1')?.inside !== true) await arrival;
    const elapsed = performance.now() - started;
    console.log(`mesh: scan at north visible at south after ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1000);

    const second = await postScan(b.url, { code: 'T-1', dir: 'in' });
    expect(second.body).toMatchObject({ verdict: 'already_in', already: { gate: 'north', device: a.device, at: first.body.at } });

    // And back the other way: an exit at south lets the attendee in again at north.
    const exitArrives = new Promise<void>((resolve) => {
      const stop = a.onScans((batch) => {
        if (batch.entries.some((e) => e.scan.dir === 'out')) {
          stop();
          resolve();
        }
      });
    });
    await postScan(b.url, { code: 'T-1', dir: 'out' });
    await exitArrives;
    expect((await postScan(a.url, { code: 'T-1', dir: 'in' })).body.verdict).toBe('admitted');

    const [statusA, statusB] = await Promise.all([getJson(`${a.url}/status`), getJson(`${b.url}/status`)]);
    expect(statusA.body).toMatchObject({ online: false, peers: 1, scans: 4, tickets: 3, hub: 'none' });
    expect(statusB.body).toMatchObject({ online: false, peers: 1, scans: 4, tickets: 3 });
    expect(a.timeline.duplicates()).toEqual([]);
  });

  it('two gates admitting one ticket while cut off from each other converge on one duplicate admission', async () => {
    const roster = await eventDoc({ 'T-9': ticket() });
    const dirs = await Promise.all([tempDir(), tempDir()]);
    for (const d of dirs) cleanups.push(d.remove);
    await Promise.all(dirs.map((d) => seedDataDir(d.dir, roster)));
    const token = await mintToken();
    // Offline and unmeshed: both admit.
    const north = await startAgent({ event: EVENT, gate: 'north', token, port: 0, host: '127.0.0.1', data: dirs[0]!.dir });
    const southAlone = await startAgent({ event: EVENT, gate: 'south', token, port: 0, host: '127.0.0.1', data: dirs[1]!.dir });
    cleanups.push(() => north.close());
    expect((await postScan(north.url, { code: 'T-9' })).body.verdict).toBe('admitted');
    expect((await postScan(southAlone.url, { code: 'T-9' })).body.verdict).toBe('admitted');
    await southAlone.close();
    // The LAN comes back: south restarts meshed with north.
    const nextBatch = (agent: Agent): Promise<void> =>
      new Promise<void>((resolve) => {
        const stop = agent.onScans(() => {
          stop();
          resolve();
        });
      });
    const atNorth = nextBatch(north);
    const south = await startAgent({ event: EVENT, gate: 'south', token, port: 0, host: '127.0.0.1', data: dirs[1]!.dir, peer: [`ws://127.0.0.1:${north.port}`] });
    cleanups.push(() => south.close());
    // Nothing can have arrived yet: startAgent resolves before any socket I/O is handled.
    await Promise.all([atNorth, nextBatch(south)]);
    for (const agent of [north, south]) {
      const duplicates = agent.timeline.duplicates();
      expect(duplicates).toHaveLength(1);
      expect(new Set([duplicates[0]!.first.gate, duplicates[0]!.second.gate])).toEqual(new Set(['north', 'south']));
      expect(agent.timeline.counts()).toMatchObject({ inside: 1, scans: 2 });
    }
    expect(north.timeline.duplicates()).toEqual(south.timeline.duplicates());
  });
});
