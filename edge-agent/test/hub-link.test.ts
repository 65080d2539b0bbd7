import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionTimeline, readScans, revoke } from '@opshub/replica';
import { startAgent, type Agent } from '../src/agent.ts';
import type { AgentStatus } from '../src/http-api.ts';
import { FakeHub } from './fake-hub.ts';
import { eventDoc, EVENT, mintToken, postScan, tempDir, ticket } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Resolves when the agent's status satisfies `predicate` (checked on every change the agent reports). */
function until(agent: Agent, predicate: (status: AgentStatus) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!predicate(agent.status())) return;
      clearTimeout(timer);
      stop();
      resolve();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${agent.options.gate}: ${what} did not happen; status ${JSON.stringify(agent.status())}`));
    }, timeoutMs);
    const stop = agent.onChange(check);
    check();
  });
}

describe('with a hub (a y-websocket peer at ${hub}/yjs/…)', () => {
  it('gets the roster, survives the hub going away, and converges with one duplicate and every scan once', async () => {
    const hub = new FakeHub(await eventDoc(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`T-${i}`, ticket({ holder: `Holder ${i}` })]))));
    await hub.start();
    cleanups.push(() => hub.stop());
    const start = async (gate: string): Promise<Agent> => {
      const { dir, remove } = await tempDir();
      cleanups.push(remove);
      const agent = await startAgent({ event: EVENT, gate, hub: hub.url, token: await mintToken({ gate }), port: 0, host: '127.0.0.1', data: dir });
      cleanups.push(() => agent.close());
      return agent;
    };
    const north = await start('north');
    const south = await start('south');
    await Promise.all([north, south].map((a) => until(a, (s) => s.online && s.tickets === 10, 'first sync')));

    const online = await postScan(north.url, { code: 'T-1' });
    expect(online.body.verdict).toBe('admitted');
    await until(north, (s) => s.pending === 0 && s.lastSync > 0, 'scan delivered to the hub');
    await until(south, (s) => s.scans === 1, 'scan relayed by the hub');

    // The hub goes away; both gates keep deciding on their own, unaware of each other.
    await hub.stop();
    await Promise.all([north, south].map((a) => until(a, (s) => !s.online, 'offline')));
    expect((await postScan(north.url, { code: 'T-2' })).body.verdict).toBe('admitted');
    expect((await postScan(north.url, { code: 'T-3' })).body.verdict).toBe('admitted');
    expect((await postScan(south.url, { code: 'T-3' })).body.verdict).toBe('admitted');
    expect((await postScan(south.url, { code: 'T-4' })).body.verdict).toBe('admitted');
    expect((await postScan(south.url, { code: 'T-1' })).body.verdict).toBe('already_in');
    expect(north.status().pending).toBe(2);
    expect(south.status().pending).toBe(3);

    // It comes back with its doc: everything converges.
    const healed = performance.now();
    await hub.start();
    await Promise.all([north, south].map((a) => until(a, (s) => s.online && s.pending === 0 && s.scans === 6, 'converged')));
    console.log(`hub link: converged ${(performance.now() - healed).toFixed(0)} ms after the hub came back (incl. reconnect backoff)`);

    expect(hub.rejections).toEqual([]);
    const scans = readScans(hub.doc);
    expect(scans).toHaveLength(6);
    // Exactly once: every scan reached the hub's side effects one time, whichever path it came by.
    expect(hub.sideEffects.map((s) => s.scanId).sort()).toEqual(scans.map((s) => s.scanId).sort());
    const timeline = new AdmissionTimeline();
    timeline.addMany(scans);
    const duplicates = timeline.duplicates();
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]).toMatchObject({ code: 'T-3' });
    expect(new Set([duplicates[0]!.first.gate, duplicates[0]!.second.gate])).toEqual(new Set(['north', 'south']));
    expect(timeline.counts().inside).toBe(4);
    // The agents know the gates' zones (both in `hall` here), so their records carry the zone as well.
    for (const agent of [north, south]) {
      expect(agent.timeline.duplicates().map(({ id, code, first, second }) => ({ id, code, first: { ...first, zone: undefined }, second: { ...second, zone: undefined } }))).toEqual(
        duplicates.map(({ id, code, first, second }) => ({ id, code, first: { ...first, zone: undefined }, second: { ...second, zone: undefined } })),
      );
    }

    // Roster projection: a revocation at the hub reaches the gate.
    const revokedAt = performance.now();
    revoke(hub.doc, 'T-7');
    await new Promise<void>((resolve) => {
      const stop = north.onChange(() => {
        if ((north.doc.getMap('tickets').get('T-7') as { status?: string } | undefined)?.status === 'revoked') {
          stop();
          resolve();
        }
      });
    });
    expect(performance.now() - revokedAt).toBeLessThan(1000);
    expect((await postScan(north.url, { code: 'T-7' })).body.verdict).toBe('revoked');
    await until(north, (s) => s.pending === 0, 'revoked scan delivered');
    expect(hub.rejections).toEqual([]);

    // Presence: the hub sees each gate's awareness state.
    const states = [...hub.awareness.getStates().values()] as { gate?: string; online?: boolean }[];
    expect(states.filter((s) => s.gate).map((s) => s.gate).sort()).toEqual(['north', 'south']);
  }, 60_000);
});
