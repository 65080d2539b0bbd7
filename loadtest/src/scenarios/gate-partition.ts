import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { appendScan, gateDirective, gateDocTypes, putTickets, readScans, writeMeta, type ScanRecord, type Ticket } from '@opshub/replica';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import { pingProbe, pingsBetween, type PingFigures } from '../../../hub/test/support/ping-probe.ts';
import { medianOf } from '../core/stats.ts';
import type { RunContext } from '../driver/run-context.ts';
import type { ServerHandle } from '../driver/server-handle.ts';
import { hocuspocusTarget, yWebsocketTarget, type Target } from '../driver/targets.ts';
import { processCpuMs } from './paired-cpu.ts';
import type { Figures, Metric, Scenario } from './scenario.ts';

/** Every wait is bounded: a replica that never converges fails the scenario instead of hanging the run. */
const WAIT_MS = 60_000;

const metrics: readonly Metric[] = [
  { key: 'onlineMs', label: 'online burst: first scan made → every online replica holds every scan made online', unit: 'ms', better: 'lower' },
  { key: 'onlinePingP99Ms', label: "a control client's ping during the online burst, p99 (opshub's /ws)", unit: 'ms', better: 'lower' },
  { key: 'settlePingP99Ms', label: "  the same ping after the burst, while the hub records its check-ins, p99", unit: 'ms', better: 'lower' },
  { key: 'onlineServerCpuMs', label: 'server CPU during the online burst (every thread, /proc)', unit: 'ms', better: 'lower' },
  { key: 'onlineDriverCpuMs', label: "the replicas' CPU during it (the bench's process, applying what the server relays)", unit: 'ms', better: 'lower' },
  { key: 'convergenceMs', label: 'partitioned gate reconnects → every replica holds every scan', unit: 'ms', better: 'lower' },
  { key: 'partitionedKB', label: 'bytes the partitioned replica sent + received after reconnect', unit: 'kB', better: 'lower' },
  { key: 'allKB', label: 'bytes all replicas sent + received after reconnect', unit: 'kB', better: 'lower' },
  { key: 'initialSyncMs', label: 'first sync: every replica holds the roster', unit: 'ms', better: 'lower' },
  { key: 'settledMs', label: "the online scans' check-ins recorded by the hub (after they converged)", unit: 'ms', better: 'lower' },
  { key: 'holdReachMs', label: "a gate hold set as the burst converged → every online replica holds it (opshub's lever; the peers have none)", unit: 'ms', better: 'lower' },
];

interface Sizes {
  readonly tickets: number;
  readonly replicas: number;
  /** scans the partitioned replica appends while offline */
  readonly offlineScans: number;
  /** changes (scans) the connected replicas make between them meanwhile */
  readonly changes: number;
}

/** Where a round's replicas connect, and what the server holds before they do. */
interface Side {
  readonly label: string;
  /** creates the round's doc on the server (opshub: event + roster over REST); returns the token per replica */
  prepare(event: string, sizes: Sizes): Promise<{ params: (replica: number) => Record<string, string>; seed: Y.Doc | undefined }>;
  /** connects one replica's doc to the server with the side's own provider, counting payload bytes */
  link(doc: Y.Doc, room: string, counter: Counter, params: Record<string, string>): Link;
  /** the server's process, whose CPU the online burst is charged */
  readonly pid: number;
  /** a control client pinging the server while the online burst runs (opshub's `/ws`; the peers have none) */
  probe?(event: string): Promise<{ ready: Promise<void>; stop: () => Promise<PingFigures> }>;
  /**
   * Resolves once the server has done what the scans entail besides relaying them (opshub: a check-in row, message
   * and analytics event per scan). The partition ends after this: in a real partition the online gates' scans are
   * spread over its whole length, not made in one burst just before it heals.
   */
  settle?(event: string, scans: number): Promise<void>;
  /**
   * Sets one gate on hold from the control room (opshub's REST lever) and resolves with the ms until every replica in
   * `replicas` holds it. Run as the online burst converged, beside `settle`: the hold's Store work then meets the
   * burst's check-ins, and must not queue behind them (the levers' contract is one second).
   */
  hold?(event: string, gate: string, replicas: readonly Replica[]): Promise<number>;
}

/**
 * gate-partition: a gate doc of N tickets (20,000; --quick 2,000; × --scale) and R replicas (10; --quick 3) in the
 * driver process. One replica is cut off while it appends S scans (2,000; --quick 200) and the others make C (5,000;
 * --quick 500) between them, one Yjs transaction each: the bench times that online burst (first scan made → every
 * online replica holds all C, with a control client pinging opshub's `/ws` meanwhile); then the cut replica
 * reconnects, and it times reconnect → every replica holds all S + C, and counts the WebSocket bytes exchanged after
 * reconnect. opshub: a real hub, the doc `event/{e}/gate` on `/yjs`, event and roster created over REST, gate tokens,
 * unmodified y-websocket `WebsocketProvider`s. Peers, in the same run: the y-websocket reference server (same
 * provider) and Hocuspocus 2 (its own `HocuspocusProvider`), the roster seeded by the first replica.
 */
export const gatePartition: Scenario = {
  name: 'gate-partition',
  summary: 'N-ticket gate doc, R replicas, one partitioned while the rest scan: online convergence and control ping, convergence after reconnect, bytes',
  async prestart(ctx) {
    await Promise.all([ctx.shared(ctx.opshub), ctx.prestart(yWebsocketTarget, { label: 'gate' }), ctx.prestart(hocuspocusTarget, { label: 'gate' })]);
  },
  async run(ctx) {
    const sizes: Sizes = {
      tickets: ctx.count(20_000, 2000),
      replicas: ctx.count(10, 3),
      offlineScans: ctx.count(2000, 200),
      changes: ctx.count(5000, 500),
    };
    // Both peers and opshub in the same run, one after the other (never two servers busy at once).
    const peers: { label: string; figures: Figures }[] = [];
    for (const [target, side] of [
      [yWebsocketTarget, yWebsocketSide],
      [hocuspocusTarget, hocuspocusSide],
    ] as const) {
      const server = await ctx.startServer(target as Target, { label: 'gate' });
      try {
        peers.push({ label: target.label, figures: await measure(ctx, side(server), sizes) });
      } finally {
        await server.stop();
      }
    }
    const hub = await ctx.shared(ctx.opshub);
    hub.used = true;
    const opshub = await measure(ctx, opshubSide(ctx, hub), sizes);
    // The baseline column is the better peer per metric: the issue's goal reads against the best peer.
    const baseline: Figures = {};
    const bestOf: string[] = [];
    for (const m of metrics) {
      const values = peers.filter((p) => Number.isFinite(p.figures[m.key]));
      if (values.length === 0) continue;
      const best = values.reduce((a, b) => ((m.better === 'lower' ? b.figures[m.key]! < a.figures[m.key]! : b.figures[m.key]! > a.figures[m.key]!) ? b : a));
      baseline[m.key] = best.figures[m.key]!;
      bestOf.push(`${m.key}: ${peers.map((p) => `${p.label} ${fmt(p.figures[m.key])}`).join(', ')}`);
    }
    const online = opshub.onlineMs! / baseline.onlineMs!;
    ctx.log(`gate-partition: online convergence opshub ${fmt(opshub.onlineMs)} ms vs best peer ${fmt(baseline.onlineMs)} ms (${online.toFixed(2)}×, goal ≤ 0.5×); control ping p99 ${fmt(opshub.onlinePingP99Ms)} ms during it (goal < 50 ms), ${fmt(opshub.settlePingP99Ms)} ms while its check-ins were recorded`);
    return {
      baselineName: `best of ${yWebsocketTarget.label} / ${hocuspocusTarget.label}`,
      metrics,
      opshub,
      baseline,
      notes: [
        `the baseline column here is the better of ${yWebsocketTarget.label} and ${hocuspocusTarget.label} per metric (both measured in this run), not socket.io. Each peer: ${bestOf.join('; ')}.`,
        `${sizes.tickets} tickets, ${sizes.replicas} replicas in the driver process (y-websocket WebsocketProvider for opshub and ${yWebsocketTarget.label}, HocuspocusProvider for Hocuspocus; ws, no BroadcastChannel); one offline for ${sizes.offlineScans} scans while the others append ${sizes.changes}, one Yjs transaction (one update message) per scan; a fresh doc per repeat.`,
        `online: from the first online scan made to every online replica holding all ${sizes.changes}; the control client pings opshub's /ws every 20 ms from a worker thread meanwhile, and on until the hub has recorded the burst's check-ins (the second ping figure).`,
        `CPU during the online burst: the server's from /proc/PID/stat (every thread), the replicas' from the bench process (${sizes.replicas} providers applying what the server relays; its ping thread, idle but for a ping every 20 ms, included). A server that relays each scan on its own gives every replica thousands of small updates to apply, and the replicas' CPU becomes the time to converge; opshub relays what one turn of its /yjs transport applied as one update, so its time is about its own CPU.`,
        `bytes: WebSocket message payloads counted at the replicas from reconnect to convergence (frame headers not included); awareness included.`,
        `peers: in-memory docs, roster seeded by the first replica; opshub: roster imported over REST and projected by the hub, scans checked by the hub's gate guard, persisted and derived into check-ins (PGlite).`,
        `the gate hold: PUT /api/v1/events/{e}/gates/g1/state from a staff token, sent as the online burst converged (while the hub records its check-ins), until every online replica's doc holds it; opshub only, the peers have no levers. The levers' contract is one second.`,
        `the partition heals once the online scans are recorded (opshub's check-ins; the peers record nothing): in a real partition they are spread over its length, not made in one burst just before it heals.`,
      ],
    };
  },
};

const fmt = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toPrecision(3));

async function measure(ctx: RunContext, side: Side, sizes: Sizes): Promise<Figures> {
  const runs: Figures[] = [];
  for (let repeat = 0; repeat < ctx.repeats; repeat++) {
    runs.push(await oneRound(ctx, side, sizes, `${ctx.event}-gp${repeat}`, repeat));
    const r = runs.at(-1)!;
    const ping = r.onlinePingP99Ms === undefined ? '' : `, control ping p99 ${r.onlinePingP99Ms.toFixed(1)} ms (${fmt(r.settlePingP99Ms)} ms while settling)`;
    const hold = r.holdReachMs === undefined ? '' : `; a gate hold set as it converged reached every replica in ${fmt(r.holdReachMs)} ms`;
    const cpu = `server CPU ${fmt(r.onlineServerCpuMs)} ms, replicas ${fmt(r.onlineDriverCpuMs)} ms`;
    ctx.log(`gate-partition ${side.label} #${repeat + 1}: online burst converged in ${r.onlineMs!.toFixed(1)} ms (${cpu})${ping}; after the heal in ${r.convergenceMs!.toFixed(1)} ms, ${r.partitionedKB!.toFixed(1)} kB at the partitioned replica, ${r.allKB!.toFixed(1)} kB in all${hold}`);
  }
  return medianOf(runs);
}

interface Counter {
  on: boolean;
  bytes: number;
}

/** One replica's connection to the server, whichever provider makes it. */
interface Link {
  connect(): void;
  disconnect(): void;
  destroy(): void;
}

interface Replica {
  readonly doc: Y.Doc;
  readonly provider: Link;
  readonly counter: Counter;
  /** scans in the doc, counted as they arrive: the wait checks it on every update, so it must not walk the doc */
  readonly held: { scans: number };
}

async function oneRound(ctx: RunContext, side: Side, sizes: Sizes, event: string, repeat: number): Promise<Figures> {
  const { params, seed } = await side.prepare(event, sizes);
  const room = `event/${event}/gate`;
  const replicas: Replica[] = [];
  // Each provider adds a process 'exit' listener (to clear its awareness state); ten are expected, not a leak.
  const maxListeners = process.getMaxListeners();
  process.setMaxListeners(Math.max(maxListeners, sizes.replicas + 10));
  try {
    const started = performance.now();
    for (let i = 0; i < sizes.replicas; i++) {
      const doc = new Y.Doc();
      if (i === 0 && seed) Y.applyUpdate(doc, Y.encodeStateAsUpdate(seed));
      const counter: Counter = { on: false, bytes: 0 };
      const held = { scans: 0 };
      // Keys only: parsing every record (observeScans) would add the driver's own cost to what is measured.
      gateDocTypes(doc).scans.observe((event) => (held.scans += event.keysChanged.size));
      const provider = side.link(doc, room, counter, params(i));
      replicas.push({ doc, provider, counter, held });
    }
    await until(replicas, (r) => gateDocTypes(r.doc).tickets.size === sizes.tickets, `${side.label}: replicas never held the ${sizes.tickets}-ticket roster`);
    const initialSyncMs = performance.now() - started;

    // The partition: replica 0 goes offline and scans; the others scan between them and converge among themselves.
    const [cut, ...online] = replicas as [Replica, ...Replica[]];
    cut.provider.disconnect();
    const t0 = Date.UTC(2026, 4, 1, 8);
    for (let k = 0; k < sizes.offlineScans; k++) appendScan(cut.doc, scan(repeat, 0, k, sizes.tickets, t0 + k * 100));
    const probe = await side.probe?.(event);
    await probe?.ready;
    const burst = performance.now();
    const burstStart = performance.timeOrigin + burst;
    const cpuAtBurst = { server: processCpuMs(side.pid), driver: process.cpuUsage() };
    for (let k = 0; k < sizes.changes; k++) {
      const i = 1 + (k % online.length);
      appendScan(replicas[i]!.doc, scan(repeat, i, k, sizes.tickets, t0 + k * 100));
    }
    await until(online, (r) => r.held.scans === sizes.changes, `${side.label}: online replicas never converged among themselves`);
    const onlineMs = performance.now() - burst;
    const driverCpu = process.cpuUsage(cpuAtBurst.driver);
    const onlineServerCpuMs = processCpuMs(side.pid) - cpuAtBurst.server;
    const onlineDriverCpuMs = (driverCpu.user + driverCpu.system) / 1000;
    const burstEnd = performance.timeOrigin + performance.now();
    const settleStart = performance.now();
    const settling = side.settle?.(event, sizes.changes).then(() => performance.now() - settleStart);
    // Awaited together: whichever fails first fails the round, and the other's later failure is not left unhandled.
    const [settledMs, holdReachMs] = await Promise.all([settling, side.hold?.(event, 'g1', online)]);
    // The probe runs on through the settle: deriving the burst after it must not stall the control room either.
    const pings = await probe?.stop();
    const ping = pings && pingsBetween(pings, burstStart, burstEnd);
    const settlePing = pings && pingsBetween(pings, burstEnd, Infinity);

    const total = sizes.offlineScans + sizes.changes;
    for (const r of replicas) r.counter.on = true;
    const reconnected = performance.now();
    cut.provider.connect();
    await until(replicas, (r) => r.held.scans === total, `${side.label}: replicas never held all ${total} scans after reconnect`);
    const convergenceMs = performance.now() - reconnected;
    for (const r of replicas) r.counter.on = false;

    // Outside the timing: every replica holds exactly the same valid scans.
    const expected = new Set(readScans(cut.doc).map((s) => s.scanId));
    if (expected.size !== total) throw new Error(`gate-partition ${side.label}: ${expected.size} distinct valid scans, expected ${total}`);
    for (const r of replicas) {
      const ids = readScans(r.doc).map((s) => s.scanId);
      if (ids.length !== total || ids.some((id) => !expected.has(id))) throw new Error(`gate-partition ${side.label}: a replica holds different scans`);
    }
    return {
      onlineMs,
      ...(ping ? { onlinePingP99Ms: ping.p99 } : {}),
      ...(settlePing ? { settlePingP99Ms: settlePing.p99 } : {}),
      onlineServerCpuMs,
      onlineDriverCpuMs,
      convergenceMs,
      partitionedKB: cut.counter.bytes / 1e3,
      allKB: replicas.reduce((sum, r) => sum + r.counter.bytes, 0) / 1e3,
      initialSyncMs,
      ...(settledMs === undefined ? {} : { settledMs }),
      ...(holdReachMs === undefined ? {} : { holdReachMs }),
    };
  } finally {
    for (const r of replicas) {
      r.provider.destroy();
      r.doc.destroy();
    }
    process.setMaxListeners(maxListeners);
  }
}

/** A valid scan with an id unique per run, side, replica and index, for a code in the roster. */
function scan(repeat: number, replica: number, k: number, tickets: number, at: number): ScanRecord {
  const gate = `g${replica}`;
  return { scanId: `gp-${repeat}-${replica}-${String(k).padStart(6, '0')}`, code: ticketCode((k * 7919 + replica) % tickets), gate, device: `${gate}-dev`, dir: 'in', at, verdict: 'admitted' };
}

const ticketCode = (i: number): string => `T-${String(i).padStart(6, '0')}`;
const ticket = (i: number): Ticket => ({ holder: `Attendee ${i}`, email: `attendee${i}@example.org`, type: i % 10 === 0 ? 'vip' : 'day', zones: i % 10 === 0 ? [] : ['hall'], status: 'valid' });
const gates = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `g${i}`, name: `Gate ${i}`, zone: 'hall' }));

function opshubSide(ctx: RunContext, hub: ServerHandle): Side {
  const base = `http://127.0.0.1:${hub.port}`;
  const verifier = hs256Verifier(ctx.secret);
  return {
    label: 'opshub',
    pid: hub.pid,
    link: (doc, room, counter, params) => yWebsocketLink(`ws://127.0.0.1:${hub.port}/yjs`, doc, room, counter, params),
    async probe(event) {
      const staff = await verifier.mint({ sub: 'bench-ping', role: 'staff', events: [event] }, '2h');
      return pingProbe(`ws://127.0.0.1:${hub.port}/ws`, staff);
    },
    async prepare(event, sizes) {
      const staff = await verifier.mint({ sub: 'bench', role: 'staff', events: [event] }, '2h');
      const post = async (path: string, body: unknown): Promise<void> => {
        const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (!response.ok) throw new Error(`gate-partition: POST ${path} answered ${response.status} ${await response.text()}`);
      };
      await post('/api/v1/events', { id: event, name: 'Bench', timezone: 'UTC', zones: [{ id: 'hall', name: 'Hall', capacity: sizes.tickets }], gates: gates(sizes.replicas) });
      await post(`/api/v1/events/${event}/tickets`, Array.from({ length: sizes.tickets }, (_, i) => {
        const { holder, email, type, zones } = ticket(i);
        return { code: ticketCode(i), holder, email, type, zones };
      }));
      const tokens = await Promise.all(Array.from({ length: sizes.replicas }, (_, i) => verifier.mint({ sub: `bench-gate-${i}`, role: 'gate', events: [event], gate: `g${i}` }, '2h')));
      return { params: (i) => ({ token: tokens[i]! }), seed: undefined };
    },
    async hold(event, gate, replicas) {
      const staff = await verifier.mint({ sub: 'bench-lever', role: 'staff', events: [event] }, '2h');
      const sent = performance.now();
      const held = until(replicas, (r) => gateDirective(r.doc, gate).state === 'hold', `${gate}'s hold never reached every online replica`);
      const response = await fetch(`${base}/api/v1/events/${event}/gates/${gate}/state`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'hold', message: 'bench lever' }),
      });
      if (!response.ok) throw new Error(`gate-partition: PUT gate state answered ${response.status} ${await response.text()}`);
      await held;
      return performance.now() - sent;
    },
    async settle(event, scans) {
      const staff = await verifier.mint({ sub: 'bench', role: 'staff', events: [event] }, '2h');
      const deadline = performance.now() + WAIT_MS;
      while (performance.now() < deadline) {
        const response = await fetch(`${base}/api/v1/events/${event}/checkins/summary`, { headers: { authorization: `Bearer ${staff}` } });
        if (!response.ok) throw new Error(`gate-partition: checkins summary answered ${response.status} ${await response.text()}`);
        const body = (await response.json()) as { byGate: Record<string, { scans: number }> };
        if (Object.values(body.byGate).reduce((n, g) => n + g.scans, 0) >= scans) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`gate-partition: the hub never recorded the ${scans} online scans as check-ins within ${WAIT_MS / 1000} s`);
    },
  };
}

/** The peers' doc: the same meta and roster, seeded by the first replica (they have no REST to import it). */
function seedDoc(event: string, sizes: Sizes): Y.Doc {
  const seed = new Y.Doc();
  writeMeta(seed, { event, name: 'Bench', timezone: 'UTC', zones: [{ id: 'hall', name: 'Hall', capacity: sizes.tickets }], gates: gates(sizes.replicas) });
  putTickets(seed, (function* () {
    for (let i = 0; i < sizes.tickets; i++) yield [ticketCode(i), ticket(i)] as [string, Ticket];
  })());
  return seed;
}

function yWebsocketSide(server: ServerHandle): Side {
  return {
    label: yWebsocketTarget.label,
    pid: server.pid,
    link: (doc, room, counter, params) => yWebsocketLink(server.url, doc, room, counter, params),
    prepare: async (event, sizes) => ({ params: () => ({}), seed: seedDoc(event, sizes) }),
  };
}

function hocuspocusSide(server: ServerHandle): Side {
  return {
    label: hocuspocusTarget.label,
    pid: server.pid,
    link(doc, room, counter) {
      // Its own provider, as Hocuspocus' docs use it; one socket per replica (not shared), closed while cut off.
      const socket = new HocuspocusProviderWebsocket({ url: server.url, WebSocketPolyfill: countingSocket(counter), quiet: true });
      const provider = new HocuspocusProvider({ websocketProvider: socket, name: room, document: doc, preserveConnection: false, quiet: true });
      return {
        connect: () => void provider.connect(),
        disconnect: () => provider.disconnect(),
        destroy: () => {
          provider.destroy();
          socket.destroy();
        },
      };
    },
    prepare: async (event, sizes) => ({ params: () => ({}), seed: seedDoc(event, sizes) }),
  };
}

/** An unmodified y-websocket `WebsocketProvider` (ws polyfill, no BroadcastChannel). */
function yWebsocketLink(url: string, doc: Y.Doc, room: string, counter: Counter, params: Record<string, string>): Link {
  const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: countingSocket(counter) as unknown as typeof globalThis.WebSocket, disableBc: true, params });
  return { connect: () => provider.connect(), disconnect: () => provider.disconnect(), destroy: () => provider.destroy() };
}

/** `ws`'s WebSocket, counting the payload bytes of every message sent and received while `counter.on`. */
function countingSocket(counter: Counter) {
  return class CountingSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        if (counter.on) counter.bytes += Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
      });
    }

    override send(data: Parameters<WebSocket['send']>[0], ...rest: unknown[]): void {
      if (counter.on) counter.bytes += (data as ArrayBufferLike).byteLength ?? String(data).length;
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  };
}

/** Resolves when `done` holds for every replica, checked on each doc update; rejects after {@link WAIT_MS}. */
function until(replicas: readonly Replica[], done: (r: Replica) => boolean, failure: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!replicas.every(done)) return;
      finish();
      resolve();
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`gate-partition: ${failure} within ${WAIT_MS / 1000} s`));
    }, WAIT_MS);
    const finish = (): void => {
      clearTimeout(timer);
      for (const r of replicas) r.doc.off('update', check);
    };
    for (const r of replicas) r.doc.on('update', check);
    check();
  });
}
