/**
 * The figures the issue asks for, printed (not asserted: timings depend on the machine):
 * startup at 100,000 tickets, verdict latency p50/p99 at 100,000 tickets, doc bytes and memory after a simulated day
 * (100,000 tickets, 150,000 scans including exits), and startup with that day on disk.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { AdmissionTimeline, appendScan, decide, readScans, type ResolvedTicket, type ScanRecord } from '@opshub/replica';
import { startAgent, type Agent } from '../src/agent.ts';
import { readFile } from 'node:fs/promises';
import { eventDoc, EVENT, getJson, mintToken, postScan, seedDataDir, spawnAgent, tempDir, ticket, type AgentProcess } from './helpers.ts';

// A collectable heap makes the memory figures mean something.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

const TICKETS = 100_000;
const DAY_SCANS = 150_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

let token = '';
const agentArgs = (dir: string): string[] => ['--event', EVENT, '--gate', 'north', '--token', token, '--port', '0', '--host', '127.0.0.1', '--data', dir];
const startupLine = (output: string): string => /replica loaded in .*?ready in \d+ ms/.exec(output)?.[0] ?? output;

async function rssMb(agent: AgentProcess): Promise<string> {
  const status = await readFile(`/proc/${agent.child.pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? (Number(kb) / 1024).toFixed(0) : '?';
}

function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return `p50 ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms (n=${samples.length})`;
}

function roster(): [string, ReturnType<typeof ticket>][] {
  return Array.from({ length: TICKETS }, (_, i) => [
    `T-${String(i).padStart(6, '0')}`,
    ticket({ holder: `Attendee ${i}`, email: `attendee${i}@example.org`, type: i % 10 === 0 ? 'vip' : 'day', zones: i % 10 === 0 ? [] : ['hall'], order: `ORD-${Math.floor(i / 3)}` }),
  ]);
}

/** A day at 8 gates: every ticket admitted once, 35,000 exits and 15,000 re-entries, in time order. */
function day(): ScanRecord[] {
  const scans: ScanRecord[] = [];
  const t0 = Date.UTC(2026, 4, 1, 8);
  const gates = ['north', 'south', 'east', 'west', 'n2', 's2', 'e2', 'w2'];
  let k = 0;
  const push = (i: number, dir: 'in' | 'out', at: number): void => {
    const gate = gates[(i + k) % gates.length]!;
    scans.push({ scanId: `day-${String(k++).padStart(7, '0')}`, code: `T-${String(i).padStart(6, '0')}`, gate, device: `${gate}-dev`, dir, at, verdict: 'admitted' });
  };
  for (let i = 0; i < TICKETS; i++) push(i, 'in', t0 + i * 200);
  for (let i = 0; i < 35_000; i++) push(i * 2, 'out', t0 + 20_000_000 + i * 300);
  for (let i = 0; i < 15_000; i++) push(i * 2, 'in', t0 + 31_000_000 + i * 400);
  expect(scans).toHaveLength(DAY_SCANS);
  return scans;
}

describe('figures at 100,000 tickets', () => {
  let agent: Agent;
  beforeAll(async () => {
    token = await mintToken({ gate: 'north' });
  });

  it('startup with a 100,000-ticket replica', async () => {
    const doc = await eventDoc(roster());
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    await seedDataDir(dir, doc);
    // As gate staff start it: its own process, through the bin; the agent prints its own timings.
    const spawned = performance.now();
    const child = await spawnAgent(agentArgs(dir));
    const wall = performance.now() - spawned;
    console.log(`FIGURE startup at 100,000 tickets: ${startupLine(child.output())}; process spawn to listening ${wall.toFixed(0)} ms; RSS ${await rssMb(child)} MB`);
    // The HTTP round trip as the gate screen sees it, against that process.
    const http: number[] = [];
    for (let i = 0; i < 500; i++) {
      const started = performance.now();
      const { body } = await postScan(child.url, { code: `T-${String(50_000 + i).padStart(6, '0')}` });
      http.push(performance.now() - started);
      expect(body.verdict).toBe('admitted');
    }
    console.log(`FIGURE verdict POST /scan round trip (separate process, fsync included) at 100,000 tickets: ${percentiles(http)}`);
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);

    agent = await startAgent({ event: EVENT, gate: 'north', token: await mintToken({ gate: 'north' }), port: 0, host: '127.0.0.1', data: dir });
    cleanups.push(() => agent.close());
    expect(agent.status().tickets).toBe(TICKETS);
  }, 60_000);

  it('verdict latency', async () => {
    // decide() alone, against a timeline holding a day's worth of scans.
    const timeline = new AdmissionTimeline();
    timeline.addMany(day());
    const samples: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const code = `T-${String((i * 7919) % TICKETS).padStart(6, '0')}`;
      const t: ResolvedTicket = { ...ticket(), code, source: 'roster' };
      const started = performance.now();
      decide(timeline, t, { id: 'north', zone: 'hall' }, 'in', Date.now());
      samples.push(performance.now() - started);
    }
    console.log(`FIGURE verdict decide() at 100,000 tickets / 150,000 scans: ${percentiles(samples)}`);

    // A whole scan in the agent: roster lookup, decision, append, fsync.
    const desk: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const started = performance.now();
      await agent.desk.scan(`T-${String((i * 31) % TICKETS).padStart(6, '0')}`, 'in');
      desk.push(performance.now() - started);
    }
    console.log(`FIGURE verdict desk.scan() incl. fsync at 100,000 tickets: ${percentiles(desk)}`);

  }, 60_000);

  it('a simulated day: doc bytes, memory, and startup with it on disk', async () => {
    const heapBefore = heapUsed();
    const doc = await eventDoc(roster());
    const rosterBytes = Y.encodeStateAsUpdate(doc).length;
    const scans = day();
    const started = performance.now();
    // One transaction per scan, as gates append them.
    for (const scan of scans) appendScan(doc, scan, 'local');
    const appendMs = performance.now() - started;
    const bytes = Y.encodeStateAsUpdate(doc).length;
    const bytesV2 = Y.encodeStateAsUpdateV2(doc).length;
    const heap = heapUsed() - heapBefore;
    console.log(
      `FIGURE simulated day: roster ${(rosterBytes / 1e6).toFixed(1)} MB; after ${DAY_SCANS} scans ${(bytes / 1e6).toFixed(1)} MB (v2 encoding ${(bytesV2 / 1e6).toFixed(1)} MB), ` +
        `${((bytes - rosterBytes) / DAY_SCANS).toFixed(0)} bytes/scan; heap for the doc ≈ ${(heap / 1e6).toFixed(0)} MB; appending took ${appendMs.toFixed(0)} ms`,
    );
    expect(readScans(doc)).toHaveLength(DAY_SCANS);

    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    await seedDataDir(dir, doc);
    const child = await spawnAgent(agentArgs(dir));
    const { body: status } = await getJson(`${child.url}/status`);
    console.log(`FIGURE startup after the day (100,000 tickets + 150,000 scans): ${startupLine(child.output())}; agent RSS ${await rssMb(child)} MB`);
    expect(status).toMatchObject({ tickets: TICKETS, scans: DAY_SCANS, inside: 80_000 });
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 120_000);
});
