import { access, mkdtemp, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearLink } from '@opshub/deploy/local/lossy-link';
import { VenueNetwork } from '@opshub/deploy/local/venue-network';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import { spawnAgent, type AgentProcess } from '../../../edge-agent/test/helpers.ts';
import { startHubProcess, type HubProcess } from '../../../hub/test/support/hub-process.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { Figures, Metric, Scenario, ScenarioOutcome } from './scenario.ts';

const metrics: readonly Metric[] = [
  { key: 'verdictP50', label: 'verdict at the gate, p50 (agent ms, fsync included)', unit: 'ms', better: 'lower' },
  { key: 'verdictP99', label: 'verdict at the gate, p99', unit: 'ms', better: 'lower' },
  { key: 'lanConvergeMs', label: 'every gate holds every scan, after the LAN cut heals', unit: 'ms', better: 'lower' },
  { key: 'uplinkConvergeMs', label: 'hub holds every scan, agents online, after the uplink flaps stop', unit: 'ms', better: 'lower' },
  { key: 'duplicatesFlagged', label: 'double admissions flagged (of those made during the cut)', unit: '', better: 'higher' },
  { key: 'scansLost', label: 'acknowledged scans missing at the hub', unit: '', better: 'lower' },
];

const EVENT = 'venue-bench';
const groups = [
  ['a1', 'a2'],
  ['b1', 'b2'],
] as const;
const gateNames: readonly string[] = groups.flat();
const HUB_PORT = 8080;
const AGENT_PORT = 7070;

/**
 * gates-venue-network (issue 18 item 3): the hub and four edge agents, each in its own network namespace
 * (deploy/src/local/venue-network.ts, as hub/test/gates/venue-network.test.ts): scans at every gate on a clean
 * network (the baseline column, same processes, same run), then through an uplink with 30 % loss, 1 s each way and
 * a 2 s outage every 6 s, then with the uplink down and the LAN cut between the two segments, where two gates admit
 * the same tickets. Figures: verdict times at the gate, how long the gates take to converge once the LAN heals and
 * the hub once the uplink is clean again, double admissions flagged, acknowledged scans lost. Needs root, iproute2,
 * socat and /dev/net/tun: skipped with the reason elsewhere.
 */
export const gatesVenueNetwork: Scenario = {
  name: 'gates-venue-network',
  summary: 'hub + 4 edge agents in network namespaces: lossy flapping uplink, LAN cut; verdict p50/p99, convergence, duplicates, lost',
  async run(ctx): Promise<ScenarioOutcome> {
    const missing = await missingPrerequisites();
    if (missing.length > 0) {
      const note = `skipped: network namespaces unavailable (${missing.join(', ')})`;
      ctx.log(`gates-venue-network: ${note}`);
      return { metrics, opshub: {}, baseline: {}, baselineName: 'the same agents on a clean network', notes: [note] };
    }
    return drill(ctx);
  },
};

async function missingPrerequisites(): Promise<string[]> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('not root');
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['socat', ['-V']],
  ] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      missing.push(`no ${tool}`);
    }
  }
  await access('/dev/net/tun').catch(() => missing.push('no /dev/net/tun'));
  return missing;
}

async function drill(ctx: RunContext): Promise<ScenarioOutcome> {
  const perGate = ctx.quick ? 4 : 10;
  const doubles = ctx.quick ? 2 : 5;
  const gapMs = ctx.quick ? 200 : 400;
  const clean = Array.from({ length: gateNames.length * perGate }, (_, i) => `C${String(i).padStart(3, '0')}`);
  const lossy = Array.from({ length: gateNames.length * perGate }, (_, i) => `L${String(i).padStart(3, '0')}`);
  const twice = Array.from({ length: doubles }, (_, i) => `D${String(i).padStart(3, '0')}`);
  const mint = (claims: Parameters<ReturnType<typeof hs256Verifier>['mint']>[0]) => hs256Verifier(ctx.secret).mint(claims, '2h');

  const dirs: string[] = [];
  const agents: AgentProcess[] = [];
  let hub: HubProcess | undefined;
  const venue = await VenueNetwork.create({ prefix: 'vgb', octet: 233, groups });
  try {
    const api = async (path: string, init: RequestInit = {}) => {
      const token = await mint({ sub: 'bench-admin', role: 'admin', events: ['*'] });
      return fetch(`http://${venue.hubManagementAddress}:${HUB_PORT}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    };
    const agentUrl = (gate: string) => `http://${venue.gate(gate).address}:${AGENT_PORT}`;
    const status = async (gate: string) => (await (await fetch(`${agentUrl(gate)}/status`)).json()) as { online: boolean; peers: number; pending: number; tickets: number; scans: number };
    const summary = async () => (await (await api(`/api/v1/events/${EVENT}/checkins/summary`)).json()) as { duplicates: number; byGate: Record<string, { scans: number }> };
    const hubScans = async () => {
      const s = await summary();
      return gateNames.reduce((sum, g) => sum + (s.byGate[g]?.scans ?? 0), 0);
    };
    const scan = async (gate: string, code: string) => {
      const res = await fetch(`${agentUrl(gate)}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir: 'in' }) });
      const body = (await res.json()) as { verdict: string; ms: number };
      if (res.status !== 200 || body.verdict !== 'admitted') throw new Error(`gates-venue-network: scan ${code} at ${gate}: ${res.status} ${JSON.stringify(body)}`);
      return body.ms;
    };
    /** Each gate scans its share of `codes`, one after the other with a queue's pace; the agents' own times. */
    const scanAll = async (codes: readonly string[]) =>
      (
        await Promise.all(
          gateNames.map(async (gate, g) => {
            const ms: number[] = [];
            for (const code of codes.slice(g * perGate, (g + 1) * perGate)) {
              ms.push(await scan(gate, code));
              await new Promise((resolve) => setTimeout(resolve, gapMs));
            }
            return ms;
          }),
        )
      ).flat();

    // Agents start behind an uplink held down until the event exists (else they would be told it does not).
    venue.uplink.setDown(true);
    const agentsStarted = Promise.all(
      gateNames.map(async (gate) => {
        const data = await mkdtemp(join(tmpdir(), `opshub-bench-venue-${gate}-`));
        dirs.push(data);
        const token = await mint({ sub: gate, role: 'gate', events: [EVENT], gate });
        const peers = gateNames.filter((g) => g !== gate).flatMap((g) => ['--peer', `ws://${venue.gate(g).address}:${AGENT_PORT}`]);
        const args = ['--hub', `ws://${venue.hubAddress}:${HUB_PORT}`, '--event', EVENT, '--gate', gate, '--token', token, '--port', String(AGENT_PORT), '--host', '0.0.0.0', '--lan-api', '--data', data, '--device', gate, ...peers];
        agents.push(await spawnAgent(args, VenueNetwork.exec(venue.gate(gate).netns)));
      }),
    );
    const hubData = await mkdtemp(join(tmpdir(), 'opshub-bench-venue-hub-'));
    dirs.push(hubData);
    hub = await startHubProcess({ DATA_DIR: hubData, HUB_JWT_SECRET: ctx.secret, PORT: String(HUB_PORT), HOST: '0.0.0.0' }, 180_000, [], VenueNetwork.exec(venue.hubNetns));
    const created = await api('/api/v1/events', {
      method: 'POST',
      body: JSON.stringify({ id: EVENT, name: 'Venue bench', zones: [{ id: 'hall', name: 'Hall', capacity: 10_000 }], gates: gateNames.map((id) => ({ id, name: id.toUpperCase(), zone: 'hall' })) }),
    });
    if (created.status !== 201) throw new Error(`gates-venue-network: creating the event: ${created.status} ${await created.text()}`);
    const roster = [...clean, ...lossy, ...twice].map((code) => ({ code, holder: `Holder ${code}` }));
    const tickets = await api(`/api/v1/events/${EVENT}/tickets`, { method: 'POST', body: JSON.stringify(roster) });
    if (tickets.status !== 200) throw new Error(`gates-venue-network: roster: ${tickets.status} ${await tickets.text()}`);
    venue.uplink.setDown(false);
    await agentsStarted;
    for (const gate of gateNames) await until(() => status(gate), (s) => s.online && s.tickets === roster.length && s.peers === gateNames.length - 1, `${gate} synced and meshed`, 90_000);

    // Baseline: the same gates on a clean network.
    const cleanStarted = performance.now();
    const cleanMs = await scanAll(clean);
    const cleanScanned = performance.now();
    for (const gate of gateNames) await until(() => status(gate), (s) => s.scans === clean.length, `${gate} holds the clean scans`, 60_000);
    const cleanLanMs = performance.now() - cleanScanned;
    await until(hubScans, (n) => n === clean.length, 'the hub holds the clean scans', 60_000);
    const cleanUplinkMs = performance.now() - cleanScanned;

    // The venue: a lossy, slow, flapping uplink.
    venue.uplink.impair({ loss: 0.3, delayMs: 1000, jitterMs: 100 });
    venue.uplink.flap(6000, 2000);
    const lossyMs = await scanAll(lossy);
    // Uplink down, LAN cut: one gate per segment admits the same tickets.
    venue.uplink.setDown(true);
    await venue.cutLan();
    for (const code of twice) lossyMs.push(await scan('a1', code));
    for (const code of twice) lossyMs.push(await scan('b1', code));
    const total = clean.length + lossy.length + 2 * twice.length;
    await venue.healLan();
    const lanHealed = performance.now();
    venue.uplink.flap(6000, 2000);
    for (const gate of gateNames) await until(() => status(gate), (s) => s.scans === total, `${gate} holds every scan after the LAN healed`, 90_000);
    const lanConvergeMs = performance.now() - lanHealed;
    venue.uplink.setDown(false);
    venue.uplink.impair(clearLink);
    const uplinkHealed = performance.now();
    let atHub = 0;
    try {
      atHub = await until(hubScans, (n) => n === total, 'the hub holds every scan', 90_000);
    } catch {
      atHub = await hubScans();
    }
    for (const gate of gateNames) await until(() => status(gate), (s) => s.online && s.pending === 0, `${gate} online with nothing pending`, 60_000);
    const uplinkConvergeMs = performance.now() - uplinkHealed;
    const flagged = (await summary()).duplicates;
    const { forwarded, dropped, cut } = venue.uplink.counters;

    const opshub: Figures = {
      verdictP50: percentile(lossyMs, 0.5),
      verdictP99: percentile(lossyMs, 0.99),
      lanConvergeMs: Math.round(lanConvergeMs),
      uplinkConvergeMs: Math.round(uplinkConvergeMs),
      duplicatesFlagged: flagged,
      scansLost: total - atHub,
    };
    const baseline: Figures = {
      verdictP50: percentile(cleanMs, 0.5),
      verdictP99: percentile(cleanMs, 0.99),
      lanConvergeMs: Math.round(cleanLanMs),
      uplinkConvergeMs: Math.round(cleanUplinkMs),
      // no double admission is made on the clean network: nothing to flag, no figure
      scansLost: clean.length - Math.min(clean.length, atHub),
    };
    ctx.log(`gates-venue-network: verdict p99 ${opshub.verdictP99} ms on the venue network (${baseline.verdictP99} ms clean); converged ${opshub.lanConvergeMs} ms after the LAN healed, ${opshub.uplinkConvergeMs} ms after the uplink did; ${flagged}/${doubles} doubles flagged; ${opshub.scansLost} lost`);
    return {
      metrics,
      opshub,
      baseline,
      baselineName: 'the same agents on a clean network',
      notes: [
        `opshub column: 30 % loss each way, 1 s each way (±100 ms), the uplink down 2 s every 6 s while ${lossy.length} tickets are scanned at ${gateNames.length} gates (${gapMs} ms apart per gate), then the uplink down and the LAN cut while a1 and b1 admit the same ${doubles} tickets; baseline column: the same processes, ${clean.length} scans on a clean network first (its convergence: from the last scan until every gate, then the hub, holds them all), ${Math.round((cleanScanned - cleanStarted) / 1000)} s of scanning.`,
        `Uplink packets forwarded ${forwarded}, lost ${dropped}, cut ${cut}. Verdict times are the agent's own (decided from its replica, the fsync that makes a scan durable included): the machine's load, not the network, sets them.`,
        `Loss and latency are applied by a relay on TUN devices (socat), as this kernel has no sch_netem (deploy/src/local/lossy-link.ts).`,
      ],
    };
  } finally {
    for (const agent of agents) {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
    await hub?.stop('SIGKILL');
    await venue.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))]! * 10) / 10;
}

/** Polls `probe` every 100 ms (agents and the hub have no event to wait on over HTTP) until `ok` or `timeoutMs`. */
async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe().catch(() => undefined);
    if (last !== undefined && ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gates-venue-network: ${what}: not within ${timeoutMs} ms (last ${JSON.stringify(last)})`);
}
