import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import type { RunContext } from '../driver/run-context.ts';
import { opshubTarget } from '../driver/targets.ts';
import type { Scenario } from './scenario.ts';

const BIN = fileURLToPath(new URL('../../../edge-agent/bin/opshub-edge.js', import.meta.url));
const CAPACITY = 40;
/** 95 % of the capacity is inside when the hub goes away: 2 places left. */
const INSIDE = 38;

interface Agent {
  readonly name: string;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * over-admission: how far a zone with `enforce: "refuse"` is over-admitted while the hub is unreachable (issue 12,
 * item 3; the why is in docs/gates.md). Four real edge agents (their bin, their own processes) at four gates of one
 * zone of 40 places, paired and synced through a real hub, in two meshed pairs (a1↔a2, b1↔b2); 38 inside (95 %).
 * Then the hub stops: two partitions that cannot hear each other. Every gate scans fresh tickets as fast as it can,
 * all four at once, until it answers zone_full. Reported: admissions past capacity in all (bounded by the room left
 * times the partitions beyond the first, plus scans in flight) and within each meshed pair beyond the room left
 * (only scans in flight between the two peers). No off-the-shelf gate agent enforces capacity offline: no baseline.
 */
export const overAdmission: Scenario = {
  name: 'over-admission',
  summary: 'refuse-policy zone at 95 %, hub gone, 4 agents in 2 meshed partitions: admissions past capacity',
  async run(ctx) {
    const event = `oa${ctx.runId.replace(/[^a-z0-9]/gi, '').slice(0, 12).toLowerCase()}`;
    const minter = hs256Verifier(ctx.secret);
    const admin = await minter.mint({ sub: 'bench-admin', role: 'admin', events: ['*'] }, '2h');
    const hub = await ctx.startServer(opshubTarget, { label: 'over-admission' });
    const http = `http://127.0.0.1:${hub.port}`;
    const api = async (path: string, body: unknown) => {
      const res = await fetch(`${http}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`over-admission: POST ${path} answered ${res.status} ${await res.text()}`);
    };
    const gates = ['a1', 'a2', 'b1', 'b2'];
    await api('/events', {
      id: event,
      name: 'Over-admission',
      zones: [{ id: 'hall', name: 'Hall', capacity: CAPACITY, enforce: 'refuse' }],
      gates: gates.map((g) => ({ id: g, name: g, zone: 'hall' })),
    });
    const codes = Array.from({ length: 400 }, (_, i) => `OA-${String(i).padStart(4, '0')}`);
    await api(`/events/${event}/tickets`, codes.map((code) => ({ code })));

    const dir = mkdtempSync(join(ctx.runDir, 'over-admission-'));
    const agents: Agent[] = [];
    try {
      const start = async (name: string, peers: Agent[]): Promise<Agent> => {
        const token = await minter.mint({ sub: name, role: 'gate', events: [event], gate: name }, '2h');
        const args = ['--hub', `ws://127.0.0.1:${hub.port}`, '--event', event, '--gate', name, '--token', token, '--port', '0', '--host', '127.0.0.1', '--data', join(dir, name), '--device', name];
        for (const peer of peers) args.push('--peer', `ws://${new URL(peer.url).host}`);
        const agent = await spawnAgent(ctx, name, args);
        agents.push(agent);
        return agent;
      };
      const a1 = await start('a1', []);
      const a2 = await start('a2', [a1]);
      const b1 = await start('b1', []);
      const b2 = await start('b2', [b1]);
      for (const agent of agents) await until(agent, (s) => s.online && s.tickets === codes.length && s.peers === 1, 'online, meshed, roster in');

      let next = 0;
      for (; next < INSIDE; next++) if ((await scan(a1, codes[next]!)) !== 'admitted') throw new Error('over-admission: filling the zone was refused');
      for (const agent of agents) await until(agent, (s) => s.inside === INSIDE && s.pending === 0, `${INSIDE} inside, all stored`);

      await hub.stop();
      for (const agent of agents) await until(agent, (s) => !s.online, 'offline');
      ctx.log(`over-admission: hub stopped with ${INSIDE} / ${CAPACITY} inside; a1↔a2 and b1↔b2 scan at once`);

      // All four at once, fresh codes, until each gate refuses.
      const admitted = new Map<string, number>();
      await Promise.all(
        agents.map(async (agent) => {
          let count = 0;
          for (;;) {
            const code = codes[next++];
            if (!code) throw new Error('over-admission: ran out of codes');
            const verdict = await scan(agent, code);
            if (verdict === 'zone_full') break;
            if (verdict === 'admitted') count++;
          }
          admitted.set(agent.name, count);
        }),
      );
      const room = CAPACITY - INSIDE;
      const partitionA = admitted.get('a1')! + admitted.get('a2')!;
      const partitionB = admitted.get('b1')! + admitted.get('b2')!;
      // Each pair's view once its mesh has settled: what one partition believes is inside.
      await until(a1, (s) => s.inside === INSIDE + partitionA, 'a-partition converged');
      await until(b1, (s) => s.inside === INSIDE + partitionB, 'b-partition converged');
      const figures = {
        room,
        admittedA: partitionA,
        admittedB: partitionB,
        overAdmitted: INSIDE + partitionA + partitionB - CAPACITY,
        inFlightExcess: Math.max(0, partitionA - room) + Math.max(0, partitionB - room),
      };
      ctx.log(
        `over-admission: partition a admitted ${partitionA}, partition b ${partitionB} (room ${room}): ${figures.overAdmitted} past capacity in all, ${figures.inFlightExcess} beyond the room within the meshed pairs`,
      );
      return {
        baselineName: 'none (no off-the-shelf gate agent)',
        metrics: [
          { key: 'overAdmitted', label: 'admitted past capacity, 2 partitions', unit: 'people', better: 'lower' },
          { key: 'inFlightExcess', label: 'past the room within meshed pairs (scans in flight)', unit: 'people', better: 'lower' },
          { key: 'room', label: 'room left when the hub went', unit: 'places', better: 'higher' },
        ],
        opshub: figures,
        baseline: {},
        notes: [
          `4 agents, zone of ${CAPACITY} with enforce refuse at ${INSIDE} inside; bound: (partitions − 1) × room + scans in flight = ${room} + in flight (docs/gates.md)`,
          'no off-the-shelf gate agent enforces a capacity offline: no baseline',
        ],
      };
    } finally {
      for (const agent of agents) await agent.stop();
      await hub.stop().catch(() => {});
    }
  },
};

interface Status {
  online: boolean;
  peers: number;
  pending: number;
  tickets: number;
  inside: number;
}

async function scan(agent: Agent, code: string): Promise<string> {
  const res = await fetch(`${agent.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir: 'in' }) });
  const body = (await res.json()) as { verdict?: string };
  if (res.status !== 200 || typeof body.verdict !== 'string') throw new Error(`over-admission: ${agent.name} answered ${res.status} ${JSON.stringify(body)}`);
  return body.verdict;
}

async function until(agent: Agent, ok: (s: Status) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Status | undefined;
  while (Date.now() < deadline) {
    last = (await (await fetch(`${agent.url}/status`)).json().catch(() => undefined)) as Status | undefined;
    if (last && ok(last)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`over-admission: ${agent.name}: ${what} not reached (last: ${JSON.stringify(last)})`);
}

async function spawnAgent(ctx: RunContext, name: string, args: string[]): Promise<Agent> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INIT_CWD: '' } });
  ctx.group.adopt(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const onLine = (line: string): void => {
      output.push(line);
      if (ctx.options.verbose) process.stderr.write(`[${name}] ${line}\n`);
      const listening = /listening on (http:\/\/[^\s"]+)/.exec(line);
      if (listening) resolve(listening[1]!);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then(() => reject(new Error(`over-admission: ${name} exited before listening:\n${output.slice(-20).join('\n')}`)));
  });
  return {
    name,
    url,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
