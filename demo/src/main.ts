/**
 * `npm run demo`: the hub on the embedded defaults, three meshed edge agents on a generated event (3,000 tickets,
 * four zones, three gates) and simulated attendees arriving through them, until Ctrl-C. Prints the console link.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hs256Verifier, loadOrCreateSecret } from '@opshub/hub/auth/token-verifier';
import { AttendeeSimulator } from './attendee-simulator.ts';
import { demoEvent, demoRoster } from './demo-event.ts';
import { ManagedProcess } from './managed-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = resolve(process.env.DATA_DIR ?? join(root, 'data', 'demo'));
const port = Number(process.env.PORT ?? 8080);
const firstAgentPort = Number(process.env.DEMO_AGENT_PORT ?? 7071);
const ticketCount = Number(process.env.DEMO_TICKETS ?? 3000);
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const minter = hs256Verifier(process.env.HUB_JWT_SECRET ?? (await loadOrCreateSecret(dataDir)));
  const owned: ManagedProcess[] = [];
  let simulator: AttendeeSimulator | undefined;
  let report: NodeJS.Timeout | undefined;
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    simulator?.stop();
    clearInterval(report);
    say('\nstopping the demo…');
    for (const p of owned.reverse()) await p.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    say(`starting the hub on http://localhost:${port} (data in ${dataDir})…`);
    const { process: hub } = await ManagedProcess.start('hub', ['--import', 'tsx', join(root, 'hub/src/main.ts')], { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' }, /sign in/);
    owned.push(hub);
    const admin = await minter.mint({ sub: 'demo-admin', role: 'admin', events: ['*'] }, '7d');
    const api = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await api('/api/v1/events', demoEvent);
    if (created.status !== 201 && created.status !== 409) throw new Error(`creating the event: HTTP ${created.status} ${await created.text()}`);
    const roster = demoRoster(ticketCount);
    const imported = (await (await api(`/api/v1/events/${demoEvent.id}/tickets`, roster)).json()) as { accepted: number };
    say(`event "${demoEvent.name}": ${imported.accepted} tickets, ${demoEvent.zones.length} zones, ${demoEvent.gates.length} gates`);

    const gates = demoEvent.gates.map((gate, i) => ({ gate: gate.id, port: firstAgentPort + i }));
    const agents = await Promise.all(
      gates.map(async ({ gate, port: agentPort }) => {
        const token = await minter.mint({ sub: `demo-${gate}`, role: 'gate', events: [demoEvent.id], gate }, '7d');
        const peers = gates.filter((g) => g.gate !== gate).flatMap((g) => ['--peer', `ws://127.0.0.1:${g.port}`]);
        const { process: agent } = await ManagedProcess.start(
          `agent ${gate}`,
          [join(root, 'edge-agent/bin/opshub-edge.js'), '--hub', `ws://127.0.0.1:${port}`, '--event', demoEvent.id, '--gate', gate, '--token', token, '--port', String(agentPort), '--data', join(dataDir, 'agents', gate), '--device', `demo-${gate}`, ...peers],
          {},
          /listening on/,
        );
        owned.push(agent);
        return { id: gate, url: `http://127.0.0.1:${agentPort}` };
      }),
    );
    // The agents have the roster once their replicas synced with the hub.
    for (const agent of agents) {
      for (let i = 0; i < 200; i++) {
        const status = (await (await fetch(`${agent.url}/status`)).json()) as { tickets: number };
        if (status.tickets >= ticketCount) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    simulator = new AttendeeSimulator(roster, agents.filter((a) => a.id !== 'vip'), agents.find((a) => a.id === 'vip'));
    simulator.start();
    say('');
    say(`  control room:  http://localhost:${port}/ops/${demoEvent.id}?token=${admin}`);
    for (const agent of agents) say(`  gate screen ${agent.id.padEnd(6)} ${agent.url.replace('127.0.0.1', 'localhost')}/`);
    say('\n  attendees are arriving (doors-open curve); Ctrl-C stops everything.\n');
    report = setInterval(() => {
      const { scans, verdicts, failures } = simulator!.stats;
      say(`  ${scans} scans · ${Object.entries(verdicts).map(([v, n]) => `${v} ${n}`).join(' · ')}${failures ? ` · ${failures} failed` : ''}`);
    }, 10_000);
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAll(1);
  }
}

void main();
