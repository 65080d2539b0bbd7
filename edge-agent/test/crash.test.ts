import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { readScans } from '@opshub/replica';
import { DiskReplica } from '../src/disk-replica.ts';
import { eventDoc, EVENT, getJson, mintToken, postScan, seedDataDir, spawnAgent, tempDir, ticket, type AgentProcess } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const ROUNDS = 4;

describe('crash safety', () => {
  it('kill -9 at random points during a stream of scans loses no acknowledged scan, and keeps each once', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    await seedDataDir(dir, await eventDoc(Array.from({ length: 5000 }, (_, i) => [`T-${i}`, ticket({ holder: `Holder ${i}` })] as const)));
    const token = await mintToken({ gate: 'north' });
    // A small compaction bound, so some kills land during a compaction too.
    const args = ['--event', EVENT, '--gate', 'north', '--token', token, '--port', '0', '--host', '127.0.0.1', '--data', dir, '--compact-after', '4096'];
    const acknowledged = new Map<string, string>();
    let next = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const agent = await spawnAgent(args);
      cleanups.push(() => void agent.child.kill('SIGKILL'));
      const killAfter = 15 + Math.floor(Math.random() * 60);
      let ackedThisRound = 0;
      let killed = false;
      const worker = async (): Promise<void> => {
        while (!killed) {
          const code = `T-${next++ % 5000}`;
          let answer: Awaited<ReturnType<typeof postScan>>;
          try {
            answer = await postScan(agent.url, { code, dir: next % 3 === 0 ? 'out' : 'in' });
          } catch {
            return; // the agent died mid-request: that scan was never acknowledged
          }
          expect(answer.status).toBe(200);
          acknowledged.set(answer.body.scanId, code);
          if (++ackedThisRound >= killAfter && !killed) {
            killed = true;
            agent.child.kill('SIGKILL');
          }
        }
      };
      // Four scans in flight at once, so the kill lands between a write and its fsync as well as between requests.
      await Promise.all([worker(), worker(), worker(), worker()]);
      expect(await agent.exited).toBe(null);
      console.log(`crash round ${round + 1}: killed after ${ackedThisRound} acknowledged scans (total ${acknowledged.size})`);
    }

    // Restart once more: the agent starts on what the kills left, and reports every acknowledged scan.
    const survivor: AgentProcess = await spawnAgent(args);
    const { body } = await getJson(`${survivor.url}/status`);
    expect(body.scans).toBeGreaterThanOrEqual(acknowledged.size);
    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);

    const doc = new Y.Doc();
    const { replica } = await DiskReplica.open(doc, { dir });
    const counts = new Map<string, number>();
    for (const scan of readScans(doc)) counts.set(scan.scanId, (counts.get(scan.scanId) ?? 0) + 1);
    await replica.close();
    const missing = [...acknowledged.keys()].filter((id) => !counts.has(id));
    expect(missing).toEqual([]);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (const [scanId, code] of acknowledged) expect(readScans(doc).find((s) => s.scanId === scanId)?.code).toBe(code);
  }, 120_000);
});
