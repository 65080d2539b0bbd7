/**
 * `npm run demo`: the hub on the embedded defaults, five meshed edge agents on a generated event (3,000 tickets, four
 * zones, five gates), an agenda, sponsors, booths, polls and questions, and simulated attendees arriving, moving
 * between rooms and leaving, until Ctrl-C. One gate's laptop goes off for a while and comes back. Prints the link
 * of every page.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hs256Verifier, loadOrCreateSecret } from '@opshub/hub/auth/token-verifier';
import { AttendeeSimulator } from './attendee-simulator.ts';
import { demoEvent, demoRoster, mainZone } from './demo-event.ts';
import { ManagedProcess } from './managed-process.ts';
import { captureLeads, demoExhibitors, demoSessions, demoSponsors, seedEngagement } from './seed-engagement.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = resolve(process.env.DATA_DIR ?? join(root, 'data', 'demo'));
const port = Number(process.env.PORT ?? 8080);
const firstAgentPort = Number(process.env.DEMO_AGENT_PORT ?? 7071);
const ticketCount = Number(process.env.DEMO_TICKETS ?? 3000);
/** when the south entrance's laptop goes off, and for how long (longer than GATE_OFFLINE_AFTER, so it is alerted) */
const dropAfterMs = Number(process.env.DEMO_GATE_DROP_AFTER ?? 90) * 1000;
const dropForMs = Number(process.env.DEMO_GATE_DROP_FOR ?? 45) * 1000;
const droppingGate = 'south';
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const minter = hs256Verifier(process.env.HUB_JWT_SECRET ?? (await loadOrCreateSecret(dataDir)));
  const owned = new Set<ManagedProcess>();
  const timers: NodeJS.Timeout[] = [];
  let simulator: AttendeeSimulator | undefined;
  let stopLeads: (() => void) | undefined;
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    simulator?.stop();
    stopLeads?.();
    for (const t of timers) clearTimeout(t);
    say('\nstopping the demo…');
    for (const p of [...owned].reverse()) await p.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    say(`starting the hub on http://localhost:${port} (data in ${dataDir})…`);
    const { process: hub } = await ManagedProcess.start('hub', ['--import', 'tsx', join(root, 'hub/src/main.ts')], { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' }, /sign in/, 120_000);
    owned.add(hub);
    const admin = await minter.mint({ sub: 'demo-admin', role: 'admin', events: ['*'] }, '7d');
    const api = (method: string, path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await api('POST', '/api/v1/events', demoEvent);
    if (created.status === 409) {
      // A demo run before on this data: bring its zones and gates to what this version of the demo runs.
      const patched = await api('PATCH', `/api/v1/events/${demoEvent.id}`, { zones: demoEvent.zones.map(({ enforce: _, ...z }) => z), gates: demoEvent.gates });
      if (patched.status !== 200) throw new Error(`updating the event: HTTP ${patched.status} ${await patched.text()}`);
    } else if (created.status !== 201) {
      throw new Error(`creating the event: HTTP ${created.status} ${await created.text()}`);
    }
    // The capacity policy as a directive too: it is what the gates enforce, also on an event made by an older demo.
    for (const zone of demoEvent.zones) {
      const set = await api('PUT', `/api/v1/events/${demoEvent.id}/zones/${zone.id}/state`, { enforce: zone.enforce });
      if (set.status !== 200) throw new Error(`setting ${zone.id} to ${zone.enforce}: HTTP ${set.status} ${await set.text()}`);
    }
    const roster = demoRoster(ticketCount);
    const imported = (await (await api('POST', `/api/v1/events/${demoEvent.id}/tickets`, roster)).json()) as { accepted: number };
    say(`event "${demoEvent.name}": ${imported.accepted} tickets, ${demoEvent.zones.length} zones (${demoEvent.zones.map((z) => `${z.name} ${z.capacity} ${z.enforce}`).join(', ')}), ${demoEvent.gates.length} gates`);

    const gates = demoEvent.gates.map((gate, i) => ({ gate: gate.id, port: firstAgentPort + i }));
    const startAgent = async ({ gate, port: agentPort }: { gate: string; port: number }) => {
      const token = await minter.mint({ sub: `demo-${gate}`, role: 'gate', events: [demoEvent.id], gate }, '7d');
      const peers = gates.filter((g) => g.gate !== gate).flatMap((g) => ['--peer', `ws://127.0.0.1:${g.port}`]);
      const { process: agent } = await ManagedProcess.start(
        `agent ${gate}`,
        [join(root, 'edge-agent/bin/opshub-edge.js'), '--hub', `ws://127.0.0.1:${port}`, '--event', demoEvent.id, '--gate', gate, '--port', String(agentPort), '--data', join(dataDir, 'agents', gate), '--device', `demo-${gate}`, ...peers],
        // In the environment rather than on the command line, so it is not in the process list.
        { OPSHUB_TOKEN: token },
        /listening on/,
      );
      owned.add(agent);
      return agent;
    };
    const agents = new Map<string, ManagedProcess>();
    for (const g of gates) agents.set(g.gate, await startAgent(g));
    const url = (gate: string) => `http://127.0.0.1:${gates.find((g) => g.gate === gate)!.port}`;
    // The agents have the roster once their replicas synced with the hub.
    for (const { gate } of gates) {
      for (let i = 0; i < 300; i++) {
        const status = (await (await fetch(`${url(gate)}/status`)).json()) as { tickets: number };
        if (status.tickets >= ticketCount) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    const target = { httpUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, event: demoEvent.id, adminToken: admin, minter };
    const seeded = await seedEngagement(target, roster);
    say(`engagement: ${seeded.summary}`);

    const sim = (simulator = new AttendeeSimulator(roster, {
      main: { zone: mainZone, entrances: demoEvent.gates.filter((g) => g.zone === mainZone).map((g) => ({ id: g.id, url: url(g.id) })) },
      rooms: demoEvent.gates.filter((g) => g.zone !== mainZone).map((g) => ({ zone: g.zone, door: { id: g.id, url: url(g.id) } })),
    }));
    sim.start();
    stopLeads = await captureLeads(target, roster);

    // One gate's laptop goes off (a power cut) and comes back: the control room sees it offline, raises
    // gate_offline after GATE_OFFLINE_AFTER and resolves it on return; the scans it took are on its disk.
    timers.push(
      setTimeout(async () => {
        const agent = agents.get(droppingGate)!;
        sim.setDown(droppingGate, true);
        say(`  ${droppingGate} entrance: laptop off (back in ${Math.round(dropForMs / 1000)} s); its queue moves to the other entrance`);
        agent.child.kill('SIGKILL');
        await agent.exited;
        owned.delete(agent);
        timers.push(
          setTimeout(async () => {
            if (stopping) return;
            agents.set(droppingGate, await startAgent(gates.find((g) => g.gate === droppingGate)!));
            sim.setDown(droppingGate, false);
            say(`  ${droppingGate} entrance: back online`);
          }, dropForMs),
        );
      }, dropAfterMs),
    );

    const origin = `http://localhost:${port}`;
    const e = demoEvent.id;
    const signIn = (path: string, token: string) => `${origin}${path}?token=${token}`;
    const sponsorToken = await minter.mint({ sub: 'demo-sponsor-acme', role: 'sponsor', events: [e], sponsor: 'acme' }, '7d');
    const boothToken = await minter.mint({ sub: 'demo-booth-acme', role: 'exhibitor', events: [e], exhibitor: 'acme-booth' }, '7d');
    const [keynote] = demoSessions(Date.now());
    say('');
    say('  Open the start page (signed in as an admin; the token stays in that tab):');
    say(`    start page:        ${signIn('/', admin)}`);
    say('  then, in the same tab:');
    for (const [label, path] of [
      ['control room', `/ops/${e}`],
      ['set-up', `/events/${e}`],
      ['tickets', `/tickets/${e}`],
      ['gates & pairing', `/gates/${e}`],
      ['audit log', `/audit/${e}`],
      ['box office', `/box-office/${e}`],
      ['announcements', `/announcements/${e}`],
      ['moderation', `/moderate/${e}`],
      [`moderate ${keynote!.id}`, `/moderate/${e}/${keynote!.id}`],
      [`projector ${keynote!.id}`, `/projector/${e}/${keynote!.id}`],
      ['sponsors', `/sponsor/${e}`],
      ...demoSponsors.map((s) => [`sponsor ${s.id}`, `/sponsor/${e}/${s.id}`]),
    ] as const) {
      say(`    ${`${label}:`.padEnd(19)}${origin}${path}`);
    }
    say('  as others would see it (each link signs in its own tab):');
    say(`    audience (phone):  ${origin}/live/${e}/${keynote!.id}?code=${seeded.joinCode}`);
    say(`    sponsor Acme:      ${signIn(`/sponsor/${e}/acme`, sponsorToken)}`);
    say(`    booth app:         ${signIn(`/booth/${e}/${demoExhibitors[0]!.id}`, boothToken)}`);
    for (const { gate } of gates) say(`    gate screen ${gate.padEnd(9)}${url(gate).replace('127.0.0.1', 'localhost')}/`);
    say(`\n  attendees are arriving (doors-open curve) and moving between rooms; the ${droppingGate} entrance drops off after ${Math.round(dropAfterMs / 1000)} s.`);
    say(`  more tokens for this hub: DATA_DIR=${dataDir} npm run -s token -- --role staff --event ${e}`);
    say('  Ctrl-C stops everything.\n');
    const report = setInterval(() => {
      const { scans, verdicts, failures, overrides } = sim.stats;
      const inside = sim.insideByZone();
      say(
        `  ${scans} scans · ${Object.entries(verdicts).map(([v, n]) => `${v} ${n}`).join(' · ')}${failures ? ` · ${failures} failed` : ''}` +
          ` | inside ${demoEvent.zones.map((z) => `${z.id} ${inside[z.id] ?? 0}/${z.capacity}`).join(' ')}` +
          (Object.keys(overrides).length ? ` | overrides ${Object.entries(overrides).map(([z, n]) => `${z} ${n}`).join(' ')}` : ''),
      );
    }, 10_000);
    timers.push(report);
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAll(1);
  }
}

void main();
