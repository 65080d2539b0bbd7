import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import * as Y from 'yjs';
import { AdmissionTimeline, appendScan, decide, putTickets, writeMeta, type ResolvedTicket, type ScanRecord, type Ticket } from '@opshub/replica';
import { DiskReplica } from '@opshub/edge-agent/src/disk-replica.ts';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import { pin } from '../core/process-group.ts';
import { medianOf } from '../core/stats.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { Figures, Scenario } from './scenario.ts';

const BIN = fileURLToPath(new URL('../../../edge-agent/bin/opshub-edge.js', import.meta.url));
const GATE = 'north';

/**
 * gate-verdict: the edge agent as gate staff run it (its own process, through its bin) on a replica of N tickets
 * (100,000; --quick 10,000; times --scale), scans sent one after another over its real `POST /scan`, as the gate
 * screen sends them. Reports the verdict time the agent measures itself (the response's `ms`: roster lookup,
 * decision, append, fdatasync), the HTTP round trip, start-up (the agent's own "ready" and spawn-to-listening) and
 * RSS; then the doc after a simulated day (1.5 scans per ticket: entries, exits, re-entries) and the start-up with
 * that day on disk. There is no off-the-shelf gate agent to compare with: the baseline column stays empty.
 */
export const gateVerdict: Scenario = {
  name: 'gate-verdict',
  summary: 'edge agent on an N-ticket replica: POST /scan verdict latency, start-up, RSS, doc after a simulated day',
  async run(ctx) {
    const tickets = ctx.count(100_000, 10_000);
    const scans = Math.max(50, ctx.count(2000, 500));
    const dir = mkdtempSync(join(ctx.runDir, 'gate-verdict-'));
    const token = await hs256Verifier(ctx.secret).mint({ sub: 'bench-gate', role: 'gate', events: [ctx.event], gate: GATE }, '2h');

    const doc = rosterDoc(ctx.event, tickets);
    const rosterBytes = Y.encodeStateAsUpdate(doc).length;
    const template = join(dir, 'roster');
    await seed(template, doc);
    ctx.log(`gate-verdict: replica of ${tickets} tickets (${(rosterBytes / 1e6).toFixed(1)} MB)`);

    const runs: Figures[] = [];
    // Half the run's repeats, rounded up (one in a full run): one run's percentiles are over its 2,000 scans.
    for (let repeat = 0; repeat < Math.ceil(ctx.repeats / 2); repeat++) {
      // A fresh copy per repeat: every repeat starts from the same replica and admits the same codes.
      const data = join(dir, `run-${repeat}`);
      cpSync(template, data, { recursive: true });
      const agent = await startAgent(ctx, data, token);
      try {
        const agentMs: number[] = [];
        const roundTrip: number[] = [];
        for (let i = 0; i < scans; i++) {
          const code = ticketCode((i * 7919) % tickets);
          const started = performance.now();
          const response = await fetch(`${agent.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir: 'in' }) });
          const body = (await response.json()) as { verdict?: string; ms?: number };
          roundTrip.push(performance.now() - started);
          if (response.status !== 200 || typeof body.ms !== 'number') throw new Error(`gate-verdict: POST /scan answered ${response.status} ${JSON.stringify(body)}`);
          // 7919 is prime: the first `tickets` codes are all different, so each is admitted.
          if (body.verdict !== 'admitted' && i < tickets && tickets % 7919 !== 0) throw new Error(`gate-verdict: ${code} was ${body.verdict}, expected admitted`);
          agentMs.push(body.ms);
        }
        const figures = {
          verdictP50: quantile(agentMs, 0.5),
          verdictP99: quantile(agentMs, 0.99),
          roundTripP50: quantile(roundTrip, 0.5),
          roundTripP99: quantile(roundTrip, 0.99),
          readyMs: agent.readyMs,
          spawnToListeningMs: agent.spawnMs,
          rssMiB: await rssMiB(agent.pid),
        };
        ctx.log(`gate-verdict #${repeat + 1}: verdict p50 ${figures.verdictP50} ms p99 ${figures.verdictP99} ms, round trip p99 ${figures.roundTripP99.toFixed(2)} ms`);
        runs.push(figures);
      } finally {
        await agent.stop();
      }
    }

    // A simulated day on the same roster, appended as gates append (one transaction per scan), then started from disk.
    const dayScans = [...day(tickets)];
    const daySize = dayScans.length;
    for (const scan of dayScans) appendScan(doc, scan, 'local');
    const dayBytes = Y.encodeStateAsUpdate(doc).length;
    const dayBytesV2 = Y.encodeStateAsUpdateV2(doc).length;
    // decide() alone (in this process), against a timeline holding the day: what the agent's `ms` spends deciding.
    const timeline = new AdmissionTimeline();
    timeline.addMany(dayScans);
    const decideUs: number[] = [];
    for (let i = 0; i < Math.max(1000, Math.min(20_000, tickets)); i++) {
      const t: ResolvedTicket = { holder: 'A', email: 'a@example.org', type: 'day', zones: ['hall'], status: 'valid', code: ticketCode((i * 7919) % tickets), source: 'roster' };
      const started = performance.now();
      decide(timeline, t, { id: GATE, zone: 'hall' }, 'in', Date.now());
      decideUs.push((performance.now() - started) * 1000);
    }
    const dayData = join(dir, 'day');
    await seed(dayData, doc);
    doc.destroy();
    const dayAgent = await startAgent(ctx, dayData, token);
    const dayFigures = { decideP50Us: quantile(decideUs, 0.5), decideP99Us: quantile(decideUs, 0.99), dayDocMB: dayBytes / 1e6, dayDocV2MB: dayBytesV2 / 1e6, bytesPerScan: (dayBytes - rosterBytes) / daySize, dayReadyMs: dayAgent.readyMs, dayRssMiB: await rssMiB(dayAgent.pid) };
    await dayAgent.stop();

    return {
      baselineName: 'none (no off-the-shelf gate agent)',
      metrics: [
        { key: 'verdictP50', label: `verdict in the agent p50 (${tickets} tickets; lookup, decide, append, fdatasync)`, unit: 'ms', better: 'lower' },
        { key: 'verdictP99', label: 'verdict in the agent p99', unit: 'ms', better: 'lower' },
        { key: 'roundTripP50', label: 'POST /scan round trip p50', unit: 'ms', better: 'lower' },
        { key: 'roundTripP99', label: 'POST /scan round trip p99', unit: 'ms', better: 'lower' },
        { key: 'readyMs', label: 'agent start-up: replica loaded and listening', unit: 'ms', better: 'lower' },
        { key: 'spawnToListeningMs', label: 'process spawn to listening (Node + tsx included)', unit: 'ms', better: 'lower' },
        { key: 'rssMiB', label: 'agent RSS after the scans', unit: 'MiB', better: 'lower' },
        { key: 'decideP50Us', label: 'decide() alone p50, against the day\'s timeline (driver process)', unit: 'µs', better: 'lower' },
        { key: 'decideP99Us', label: 'decide() alone p99', unit: 'µs', better: 'lower' },
        { key: 'dayDocMB', label: `doc after a simulated day (${daySize} scans)`, unit: 'MB', better: 'lower' },
        { key: 'dayDocV2MB', label: 'the same doc, v2 update encoding', unit: 'MB', better: 'lower' },
        { key: 'bytesPerScan', label: 'doc bytes per scan', unit: 'B', better: 'lower' },
        { key: 'dayReadyMs', label: 'agent start-up with that day on disk', unit: 'ms', better: 'lower' },
        { key: 'dayRssMiB', label: 'agent RSS with that day loaded', unit: 'MiB', better: 'lower' },
      ],
      opshub: { ...medianOf(runs), ...dayFigures },
      baseline: {},
      notes: [
        `no baseline: no off-the-shelf gate agent decides scans offline; ${scans} sequential scans per repeat, each over a new HTTP request, agent ${ctx.layout.pinned ? `pinned to CPU ${ctx.layout.servers[0]}` : 'not pinned'}.`,
        `roster ${(rosterBytes / 1e6).toFixed(1)} MB; the day: every ticket in once, ${Math.round(tickets * 0.35)} exits, ${Math.round(tickets * 0.15)} re-entries at 8 gates.`,
      ],
    };
  },
};

interface RunningAgent {
  readonly url: string;
  readonly pid: number;
  readonly readyMs: number;
  readonly spawnMs: number;
  stop(): Promise<void>;
}

/** The agent through its bin (no hub, no peers), adopted by the run's process group; pinned once it listens. */
async function startAgent(ctx: RunContext, data: string, token: string): Promise<RunningAgent> {
  const args = ['--event', ctx.event, '--gate', GATE, '--token', token, '--port', '0', '--host', '127.0.0.1', '--data', data];
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INIT_CWD: '' } });
  ctx.group.adopt(child);
  if (ctx.options.verbose) process.stderr.write(`[bench] started edge-agent (pid ${child.pid})\n`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  const { url, readyMs } = await new Promise<{ url: string; readyMs: number }>((resolve, reject) => {
    let ready = Number.NaN;
    const onLine = (line: string): void => {
      output.push(line);
      if (ctx.options.verbose) process.stderr.write(`[edge-agent] ${line}\n`);
      const readyMatch = /ready in (\d+) ms/.exec(line);
      if (readyMatch) ready = Number(readyMatch[1]);
      const listening = /listening on (http:\/\/[^\s"]+)/.exec(line);
      if (listening) resolve({ url: listening[1]!, readyMs: ready });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then(() => reject(new Error(`gate-verdict: the agent exited before listening:\n${output.slice(-20).join('\n')}`)));
  });
  const spawnMs = performance.now() - started;
  pin(child.pid!, ctx.layout.servers[0]);
  return {
    url,
    pid: child.pid!,
    readyMs,
    spawnMs,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const ticketCode = (i: number): string => `T-${String(i).padStart(6, '0')}`;

/** The hub's side of the event: meta with the gate, and `n` tickets (one in ten VIP, anywhere; the rest the hall). */
function rosterDoc(event: string, n: number): Y.Doc {
  const doc = new Y.Doc();
  writeMeta(doc, { event, name: 'Bench', timezone: 'UTC', zones: [{ id: 'hall', name: 'Hall', capacity: n }], gates: [{ id: GATE, name: 'North', zone: 'hall' }] });
  function* roster(): Generator<[string, Ticket]> {
    for (let i = 0; i < n; i++) {
      const vip = i % 10 === 0;
      yield [ticketCode(i), { holder: `Attendee ${i}`, email: `attendee${i}@example.org`, type: vip ? 'vip' : 'day', zones: vip ? [] : ['hall'], status: 'valid', order: `ORD-${Math.floor(i / 3)}` }];
    }
  }
  putTickets(doc, roster());
  return doc;
}

/** Writes `doc` as the replica the agent finds in `dir` at start, as if synced from the hub earlier. */
async function seed(dir: string, doc: Y.Doc): Promise<void> {
  const copy = new Y.Doc();
  const { replica } = await DiskReplica.open(copy, { dir });
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  await replica.compact();
  await replica.close();
  copy.destroy();
}

/** A day at 8 gates: every ticket admitted once, 35 % out again and 15 % back in, in time order. */
function* day(tickets: number): Generator<ScanRecord> {
  const t0 = Date.UTC(2026, 4, 1, 8);
  const gates = ['north', 'south', 'east', 'west', 'n2', 's2', 'e2', 'w2'];
  let k = 0;
  const scan = (i: number, dir: 'in' | 'out', at: number): ScanRecord => {
    const gate = gates[(i + k) % gates.length]!;
    return { scanId: `day-${String(k++).padStart(7, '0')}`, code: ticketCode(i), gate, device: `${gate}-dev`, dir, at, verdict: 'admitted' };
  };
  const exits = Math.round(tickets * 0.35);
  const returns = Math.round(tickets * 0.15);
  for (let i = 0; i < tickets; i++) yield scan(i, 'in', t0 + i * 200);
  for (let i = 0; i < exits; i++) yield scan((i * 2) % tickets, 'out', t0 + 20_000_000 + i * 300);
  for (let i = 0; i < returns; i++) yield scan((i * 2) % tickets, 'in', t0 + 31_000_000 + i * 400);
}

function quantile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}
