import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { GateClient } from '../gates/gate-client.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { pingProbe, type PingFigures } from '../support/ping-probe.ts';
import { minter, testSecret } from '../support/test-hub.ts';

/** One phase of an import run: how long it took and what a control client's ping saw meanwhile. */
export interface PhaseFigures {
  seconds: number;
  rowsPerSec: number;
  pingP50Ms: number;
  pingP99Ms: number;
  /** the longest round trip: the longest the hub's event loop was held, as a client sees it */
  pingMaxMs: number;
  pings: number;
}

export interface ImportFigures {
  rows: number;
  store: 'pglite' | 'postgres';
  /** the control ping with the hub idle (a gate holding the doc, nothing imported): what this machine gives */
  idle: { pingP50Ms: number; pingP99Ms: number; pingMaxMs: number };
  /** the import, answered once the roster is stored and projected into the gate doc */
  import: PhaseFigures;
  /** the same roster again: nothing changes, everything is read and compared */
  reimport?: PhaseFigures;
  /** a second gate's first sync: the whole roster in one answer */
  firstSync?: PhaseFigures;
  /** the hub restarted, a gate back: the doc loaded from the Store and synced */
  reload?: PhaseFigures;
}

export interface ImportRunOptions {
  readonly rows: number;
  /** PostgreSQL (a schema of its own is made and dropped); PGlite in a temporary DATA_DIR when unset */
  readonly databaseUrl?: string | undefined;
  readonly phases?: { reimport?: boolean; firstSync?: boolean; reload?: boolean };
  /** node flags for the hub process, e.g. `--cpu-prof` */
  readonly nodeArgs?: readonly string[];
  readonly log?: (line: string) => void;
}

const event = 'importbench';
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const phase = (seconds: number, count: number, ping: PingFigures): PhaseFigures => ({
  seconds: round(seconds, 2),
  rowsPerSec: Math.round(count / seconds),
  pingP50Ms: round(ping.p50),
  pingP99Ms: round(ping.p99),
  pingMaxMs: Math.round(ping.max),
  pings: ping.rtts.length,
});

/**
 * A roster of `rows` rows imported as CSV through `POST /api/v1/events/{e}/tickets` into a hub process (`npm start`'s
 * main.ts) while a gate holds the event's gate doc (so the roster is projected into it, stored and relayed to the
 * gate) and a control client pings `/ws` every 20 ms from a worker thread; then, as asked, a re-import, a second
 * gate's first sync, and a hub restart with a gate coming back. Shared by the test (`big-import.test.ts`) and the
 * bench (`import-figures.ts`), so the bench's figure and the test's bound measure the same thing.
 * @example const figures = await runImport({ rows: 100_000, phases: { reload: true } });
 */
export async function runImport(options: ImportRunOptions): Promise<ImportFigures> {
  const { rows, phases = {}, log = () => {} } = options;
  const dataDir = await mkdtemp(join(tmpdir(), 'opshub-import-'));
  const env: Record<string, string> = { HUB_JWT_SECRET: testSecret, DATA_DIR: dataDir };
  let schema: string | undefined;
  let admin: pg.Client | undefined;
  const gates: GateClient[] = [];
  let hub: HubProcess | undefined;
  try {
    if (options.databaseUrl) {
      // A schema of its own, so the run starts from an empty Store and leaves nothing behind.
      schema = `opshub_import_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      admin = new pg.Client({ connectionString: options.databaseUrl });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      const url = new URL(options.databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      env.DATABASE_URL = url.toString();
    }
    hub = await startHubProcess(env, 240_000, options.nodeArgs);
    const adminToken = await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
    const created = await fetch(`${hub.httpUrl}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: event,
        name: 'Import bench',
        zones: [{ id: 'hall', name: 'Hall', capacity: 1_000_000 }],
        gates: [{ id: 'main', name: 'Main', zone: 'hall' }, { id: 'side', name: 'Side', zone: 'hall' }],
      }),
    });
    if (created.status !== 201) throw new Error(`creating the event answered ${created.status}: ${await created.text()}`);
    const staff = await minter.mint({ sub: 'staff', role: 'staff', events: [event] });
    const gateToken = (gate: string) => minter.mint({ sub: `gate-${gate}`, role: 'gate', events: [event], gate });
    const tickets = (gate: GateClient) => gate.doc.getMap('tickets').size;
    gates.push(await GateClient.connect(hub.port, event, await gateToken('main')));

    const idle = pingProbe(hub.wsUrl, staff);
    await idle.ready;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idlePing = await idle.stop();

    const lines = ['code,holder,email,type,zones'];
    for (let i = 0; i < rows; i++) lines.push(`B${i},Holder ${i},holder${i}@example.org,general,hall`);
    const csv = lines.join('\n');
    const importOnce = async (at: HubProcess): Promise<PhaseFigures> => {
      const probe = pingProbe(at.wsUrl, staff);
      await probe.ready;
      const started = performance.now();
      const res = await fetch(`${at.httpUrl}/api/v1/events/${event}/tickets`, { method: 'POST', headers: { authorization: `Bearer ${staff}`, 'content-type': 'text/csv' }, body: csv });
      const seconds = (performance.now() - started) / 1000;
      const ping = await probe.stop();
      const body = (await res.json()) as { accepted: number; rejected: unknown[] };
      if (res.status !== 200 || body.accepted !== rows) throw new Error(`import answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
      return phase(seconds, rows, ping);
    };

    const imported = await importOnce(hub);
    log(`import: ${rows} rows in ${imported.seconds} s (${imported.rowsPerSec} rows/s); ping p50 ${imported.pingP50Ms} p99 ${imported.pingP99Ms} max ${imported.pingMaxMs} ms`);
    // The answer comes once the roster is in the doc and stored; the gate has it moments later.
    await gates[0]!.until((doc) => doc.getMap('tickets').size >= rows, 120_000);
    const figures: ImportFigures = {
      rows,
      store: schema ? 'postgres' : 'pglite',
      idle: { pingP50Ms: round(idlePing.p50), pingP99Ms: round(idlePing.p99), pingMaxMs: Math.round(idlePing.max) },
      import: imported,
    };

    if (phases.reimport) {
      figures.reimport = await importOnce(hub);
      log(`re-import: ${figures.reimport.seconds} s; ping p50 ${figures.reimport.pingP50Ms} p99 ${figures.reimport.pingP99Ms} max ${figures.reimport.pingMaxMs} ms`);
    }

    if (phases.firstSync) {
      const probe = pingProbe(hub.wsUrl, staff);
      await probe.ready;
      const started = performance.now();
      const side = GateClient.open(hub.port, event, await gateToken('side'));
      gates.push(side);
      await side.synced(120_000);
      await side.until(() => tickets(side) >= rows, 120_000);
      figures.firstSync = phase((performance.now() - started) / 1000, rows, await probe.stop());
      log(`first sync: ${figures.firstSync.seconds} s; ping p50 ${figures.firstSync.pingP50Ms} p99 ${figures.firstSync.pingP99Ms} max ${figures.firstSync.pingMaxMs} ms`);
    }

    if (phases.reload) {
      // A hub restart: the doc is loaded from the Store (snapshot and log) when the first gate comes back.
      for (const gate of gates.splice(0)) gate.close();
      await hub.stop();
      hub = await startHubProcess(env, 240_000, options.nodeArgs);
      const probe = pingProbe(hub.wsUrl, staff);
      await probe.ready;
      const started = performance.now();
      const main = GateClient.open(hub.port, event, await gateToken('main'));
      gates.push(main);
      await main.synced(120_000);
      await main.until(() => tickets(main) >= rows, 120_000);
      figures.reload = phase((performance.now() - started) / 1000, rows, await probe.stop());
      log(`reload: ${figures.reload.seconds} s; ping p50 ${figures.reload.pingP50Ms} p99 ${figures.reload.pingP99Ms} max ${figures.reload.pingMaxMs} ms`);
    }
    return figures;
  } finally {
    for (const gate of gates) gate.close();
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (admin && schema) {
      await admin.query(`drop schema "${schema}" cascade`);
      await admin.end();
    }
  }
}
