import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { gateDocTypes } from '@opshub/replica';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import type { MemoryParts, ServerStats } from '../core/specs.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { ServerHandle } from '../driver/server-handle.ts';
import type { Figures, Scenario } from './scenario.ts';

const MiB = 1024 * 1024;
/** Every wait is bounded: a roster that never reaches the gate fails the scenario instead of hanging the run. */
const WAIT_MS = 180_000;

/**
 * event-memory: what one open event costs the hub. On the run's hub (after idle-memory closed its connections), the
 * memory is read at idle, then an event is created, a gate connects to its gate doc (an unmodified y-websocket
 * `WebsocketProvider`), a roster of 100,000 tickets (`--quick`: 10,000; × `--scale`) is imported as one CSV through
 * `POST /api/v1/events/{e}/tickets` (stored, projected into the doc, relayed to the gate), and once the gate holds
 * every ticket the memory is read again with the gate still connected. Each reading is after a full GC, once RSS
 * stopped falling. The split: the main thread's V8 heap, PGlite (its wasm memory plus its worker thread's heap, as
 * the worker reports them), chDB (what its own allocator tracks, `MemoryTracking`), and native/other (RSS minus
 * those: uWS, Node, allocator slack). Once per run: the import alone takes most of a minute on a loaded machine, and
 * the hub keeps the event afterwards, so a second repeat would not start from the same idle.
 */
export const eventMemory: Scenario = {
  name: 'event-memory',
  summary: "the hub's memory per open 100,000-ticket event held by one gate, split into V8 heap, PGlite, chDB, native",
  async prestart(ctx) {
    await ctx.shared(ctx.opshub);
  },
  async run(ctx) {
    const tickets = ctx.count(100_000, 10_000);
    const server = await ctx.shared(ctx.opshub);
    server.used = true;
    const idle = await reading(server);
    const event = `${ctx.event}-mem`;
    const verifier = hs256Verifier(ctx.secret);
    const staff = await verifier.mint({ sub: 'bench-memory', role: 'staff', events: [event] }, '2h');
    const base = `http://127.0.0.1:${server.port}`;
    const post = async (path: string, body: string, type: string) => {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${staff}`, 'content-type': type }, body });
      if (!response.ok) throw new Error(`event-memory: POST ${path} answered ${response.status} ${(await response.text()).slice(0, 300)}`);
      return response;
    };
    await post('/api/v1/events', JSON.stringify({ id: event, name: 'Memory', timezone: 'UTC', zones: [{ id: 'hall', name: 'Hall', capacity: tickets }], gates: [{ id: 'main', name: 'Main', zone: 'hall' }] }), 'application/json');
    const doc = new Y.Doc();
    const gateToken = await verifier.mint({ sub: 'bench-memory-gate', role: 'gate', events: [event], gate: 'main' }, '2h');
    const provider = new WebsocketProvider(`ws://127.0.0.1:${server.port}/yjs`, `event/${event}/gate`, doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      params: { token: gateToken },
    });
    try {
      const lines = ['code,holder,email,type,zones'];
      for (let i = 0; i < tickets; i++) lines.push(`M${i},Holder ${i},holder${i}@example.org,general,hall`);
      const started = performance.now();
      const answer = (await (await post(`/api/v1/events/${event}/tickets`, lines.join('\n'), 'text/csv')).json()) as { accepted: number };
      if (answer.accepted !== tickets) throw new Error(`event-memory: the import accepted ${answer.accepted} of ${tickets} rows`);
      await holds(doc, tickets);
      ctx.log(`event-memory: ${tickets} tickets imported and held by the gate in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const open = await reading(server);
      const split = (r: Reading) => ({
        heap: r.stats.heapUsed,
        pglite: r.parts.pgliteWasm! + r.parts.pgliteHeap!,
        chdb: r.parts.chdb!,
        other: r.stats.rss - r.stats.heapUsed - r.parts.pgliteWasm! - r.parts.pgliteHeap! - r.parts.chdb!,
      });
      const before = split(idle);
      const after = split(open);
      const figures: Figures = {
        rssMiB: (open.stats.rss - idle.stats.rss) / MiB,
        heapMiB: (after.heap - before.heap) / MiB,
        pgliteMiB: (after.pglite - before.pglite) / MiB,
        chdbMiB: (after.chdb - before.chdb) / MiB,
        otherMiB: (after.other - before.other) / MiB,
        rssPerTicketB: (open.stats.rss - idle.stats.rss) / tickets,
        idleRssMiB: idle.stats.rss / MiB,
        idlePgliteMiB: before.pglite / MiB,
        idleChdbMiB: before.chdb / MiB,
      };
      ctx.log(`event-memory: +${figures.rssMiB!.toFixed(0)} MiB RSS (heap ${figures.heapMiB!.toFixed(0)}, PGlite ${figures.pgliteMiB!.toFixed(0)}, chDB ${figures.chdbMiB!.toFixed(0)}, other ${figures.otherMiB!.toFixed(0)})`);
      return {
        baselineName: 'none (no peer hosts an event)',
        metrics: [
          { key: 'rssMiB', label: `server RSS added by one open event (${tickets.toLocaleString('en-US')} tickets, one gate holding the doc)`, unit: 'MiB', better: 'lower' },
          { key: 'heapMiB', label: '  of which V8 heap (main thread, used)', unit: 'MiB', better: 'lower' },
          { key: 'pgliteMiB', label: '  of which PGlite (wasm memory + its worker heap)', unit: 'MiB', better: 'lower' },
          { key: 'chdbMiB', label: "  of which chDB (its allocator's MemoryTracking)", unit: 'MiB', better: 'lower' },
          { key: 'otherMiB', label: '  of which native and other (the rest of RSS)', unit: 'MiB', better: 'lower' },
          { key: 'rssPerTicketB', label: 'server RSS added per ticket', unit: 'B', better: 'lower' },
          { key: 'idleRssMiB', label: 'server RSS at idle, before the event', unit: 'MiB', better: 'lower' },
          { key: 'idlePgliteMiB', label: '  of which PGlite (wasm memory + its worker heap)', unit: 'MiB', better: 'lower' },
          { key: 'idleChdbMiB', label: "  of which chDB (its allocator's MemoryTracking)", unit: 'MiB', better: 'lower' },
        ],
        opshub: figures,
        baseline: {},
        notes: [
          `one event, ${tickets.toLocaleString('en-US')} tickets imported as CSV while one gate (y-websocket WebsocketProvider) held the gate doc; read after a full GC once RSS stopped falling, the gate still connected, minus the same reading at idle just before. PGlite's wasm memory never shrinks, so its figure includes what the import needed at its peak.`,
        ],
      };
    } finally {
      provider.destroy();
      doc.destroy();
    }
  },
};

interface Reading {
  readonly stats: ServerStats;
  readonly parts: MemoryParts;
}

/** Stats after a full GC once RSS stops falling (two readings a second apart within 1 MiB, at most 20 s), and the parts. */
async function reading(server: ServerHandle): Promise<Reading> {
  const deadline = performance.now() + 20_000;
  let stats = await server.stats(true);
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await server.stats(true);
    const settled = now.rss > stats.rss - MiB;
    stats = now;
    if (settled) break;
  }
  return { stats, parts: await server.parts() };
}

/** Resolves once the gate's doc holds `count` tickets, checked on every update. */
function holds(doc: Y.Doc, count: number): Promise<void> {
  const tickets = gateDocTypes(doc).tickets;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (tickets.size < count) return;
      finish();
      resolve();
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`event-memory: the gate held ${tickets.size} of ${count} tickets after ${WAIT_MS / 1000} s`));
    }, WAIT_MS);
    const finish = () => {
      clearTimeout(timer);
      doc.off('update', check);
    };
    doc.on('update', check);
    check();
  });
}
