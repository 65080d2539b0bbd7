/**
 * The edge agent, composed: a Yjs replica of `event/{e}/gate` loaded from disk, kept in sync with the hub and with
 * peer agents, deciding scans locally and serving the gate API and screen.
 *
 * Every doc update is tagged with its origin: 'disk' (replayed at start: neither logged nor relayed), 'local' (a
 * scan here), or the {@link SyncSession} it arrived on (hub or peer). Each update except disk ones is appended to the
 * log, and relayed to every session but its own.
 *
 * `assemble` reads top to bottom as the parts below, each a named function with one job: {@link openReplica}
 * (doc, disk log, timeline), {@link logUpdates} (every update to disk), {@link startPresence} (awareness and the
 * pending count), {@link watchScans}, {@link openLinks} (mesh server, peers, hub), {@link statusOf} and
 * {@link serveHttp}.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import {
  AdmissionTimeline,
  checkGateUpdate,
  gateDocName,
  gateDocTypes,
  legacyScanCount,
  observeScans,
  parseUnknownGateReason,
  readMeta,
  onNoticesChange,
  readNotices,
  readScanEntries,
  scanMac,
  type ScanBatch,
  type ScanEntry,
} from '@opshub/replica';
import { CloseCode } from '@opshub/schema';
import { resolveOptions, type AgentOptions, type AgentOptionsInput } from './agent-options.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { loadOrCreateDeviceId } from './device-id.ts';
import { DISK_ORIGIN, DiskReplica, type LoadStats } from './disk-replica.ts';
import { GateDesk } from './gate-desk.ts';
import { createHttpApi, type AgentStatus } from './http-api.ts';
import { MeshPairing } from './mesh-credentials.ts';
import { CHALLENGE_PATH, MeshAnswerer, prepareDial } from './mesh-handshake.ts';
import { MeshServer } from './mesh-server.ts';
import { PendingTracker } from './pending-tracker.ts';
import { ReplicaRelay } from './replica-relay.ts';
import { SyncLink } from './sync-link.ts';
import type { SyncSession } from './sync-session.ts';
import { TicketSearch } from './ticket-search.ts';

export interface AgentLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface Agent {
  readonly options: AgentOptions;
  readonly device: string;
  readonly port: number;
  /** `http://HOST:PORT` of the local API. */
  readonly url: string;
  readonly doc: Y.Doc;
  readonly desk: GateDesk;
  readonly timeline: AdmissionTimeline;
  readonly startup: LoadStats & { totalMs: number };
  status(): AgentStatus;
  /** Called with every batch of scans that reaches the replica (any origin). Returns the unsubscribe function. */
  onScans(listener: (batch: ScanBatch) => void): () => void;
  /** Called whenever something `status()` reports may have changed (links, doc, pending). Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /**
   * Called once if the agent can never work as started (the hub refused its token's gate: the event has no such
   * gate); at once if that already happened. The agent keeps running: the caller decides (the CLI closes and exits).
   */
  onFatal(listener: (error: AgentFatalError) => void): () => void;
  close(): Promise<void>;
}

/** Why an agent cannot work as started; `message` names the cause for the person at the gate. */
export class AgentFatalError extends Error {
  override readonly name = 'AgentFatalError';
}

const quietLog: AgentLog = { info: () => {}, warn: () => {} };

/** Shutdown steps, run in reverse order of registration. */
type Cleanups = (() => Promise<void> | void)[];

/**
 * Starts an agent: loads the replica from disk, binds the HTTP server, dials the hub and peers.
 * @example
 * const agent = await startAgent({ event: 'expo', gate: 'north', token, hub: 'ws://hub:8080', port: 7070 });
 * await agent.desk.scan('T-1001', 'in');
 * await agent.close();
 */
export async function startAgent(input: AgentOptionsInput | AgentOptions, log: AgentLog = quietLog): Promise<Agent> {
  const started = performance.now();
  const options = resolveOptions(input);
  await mkdir(options.data, { recursive: true });
  const lock = await lockDataDir(options.data);
  const cleanups: Cleanups = [() => lock.release()];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  };
  try {
    return await assemble(options, log, started, cleanups, cleanup);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function assemble(options: AgentOptions, log: AgentLog, started: number, cleanups: Cleanups, cleanup: () => Promise<void>): Promise<Agent> {
  const device = options.device ?? (await loadOrCreateDeviceId(options.data, options.gate));
  const changes = new Listeners<[]>();
  const scanListeners = new Listeners<[ScanBatch]>();
  const fatalListeners = new Listeners<[AgentFatalError]>();
  let fatal: AgentFatalError | undefined;
  const failed = (error: AgentFatalError): void => {
    if (fatal) return;
    fatal = error;
    fatalListeners.emit(error);
  };

  const replica = await openReplica(options, log, cleanups);
  const { doc, awareness, timeline } = replica;
  const unsaved = logUpdates(replica, log, () => changes.emit(), cleanups);
  const relay = new ReplicaRelay(doc, awareness, [DISK_ORIGIN]);
  cleanups.push(() => relay.close());

  // The hub link exists only after openLinks, but presence and the pending count need to ask about it.
  let links: Links | undefined;
  const presence = await startPresence({ options, device, replica, hubOnline: () => links?.hub?.state === 'online', changed: () => changes.emit() }, cleanups);
  watchScans(replica, { pending: presence.pending, isHub: (origin) => links?.isHub(origin) ?? false, listeners: scanListeners, log }, cleanups);

  const pairing = await MeshPairing.start({ dir: options.data, event: options.event, gate: options.gate, token: options.token, ...(options.hub && { hub: options.hub }), log: (m) => log.info(m) });
  cleanups.push(() => pairing.close());
  cleanups.push(pairing.onPaired(() => changes.emit()));
  // Scans carry a MAC with this gate's scan key once paired, so the hub can tell them from forgeries when a peer relays them.
  const sign = (record: Parameters<typeof scanMac>[1]) => (pairing.current ? scanMac(pairing.current.scanKey, record) : undefined);
  const desk = new GateDesk({ doc, timeline, gate: options.gate, device, sign, durable: () => replica.disk.durable(), onScanned: (at) => presence.scanned(at) });
  const linked = openLinks({ options, device, replica, relay, pairing, pending: presence.pending, log, changed: () => changes.emit(), presenceChanged: () => presence.publish(), failed });
  links = linked;
  const status = (): AgentStatus => statusOf({ options, device, replica, relay, desk, links: linked, pending: presence.pending, unsaved: unsaved.count, paired: () => pairing.current !== undefined });

  const http = await serveHttp({ options, desk, replica, status, mesh: linked.mesh, showed: (ids) => presence.showed(ids) }, cleanups);
  linked.start(cleanups);
  presence.publish();
  const totalMs = performance.now() - started;

  return {
    options,
    device,
    port: http.port,
    url: http.url,
    doc,
    desk,
    timeline,
    startup: { ...replica.stats, totalMs },
    status,
    onScans: (listener) => scanListeners.add(listener),
    onChange: (listener) => changes.add(listener),
    onFatal: (listener) => {
      if (fatal) listener(fatal);
      return fatalListeners.add(listener);
    },
    close: cleanup,
  };
}

/** The replica as loaded: doc and awareness, the disk log behind it, and what is derived from it. */
interface Replica {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly disk: DiskReplica;
  readonly stats: LoadStats;
  readonly timeline: AdmissionTimeline;
  readonly search: TicketSearch;
  /** the scans the doc held when it loaded from disk */
  readonly loaded: ScanEntry[];
}

/** Loads the doc from the disk log and derives the admission timeline and the ticket search from it. */
async function openReplica(options: AgentOptions, log: AgentLog, cleanups: Cleanups): Promise<Replica> {
  const doc = new Y.Doc();
  const { replica: disk, stats } = await DiskReplica.open(doc, {
    dir: options.data,
    compactAfterBytes: options.compactAfterBytes,
    onError: (error) => log.warn(`compaction failed (the log is kept): ${String(error)}`),
  });
  cleanups.push(() => disk.close());
  const awareness = new Awareness(doc);
  cleanups.push(() => awareness.destroy());

  // Zones from the doc's meta: a scan into another room is a move, not a duplicate (the same rule as the hub's).
  let gateZones = new Map<string, string>();
  const readGateZones = (): void => {
    gateZones = new Map((readMeta(doc)?.gates ?? []).map((g) => [g.id, g.zone]));
  };
  readGateZones();
  const { meta } = gateDocTypes(doc);
  meta.observe(readGateZones);
  cleanups.push(() => meta.unobserve(readGateZones));
  const timeline = new AdmissionTimeline((gate) => gateZones.get(gate));

  const legacy = legacyScanCount(doc);
  if (legacy > 0) log.warn(`the replica on disk holds ${legacy} scans in format 1 (a "scans" array), which nothing reads: start with a fresh --data directory`);
  const loaded = readScanEntries(doc);
  timeline.addMany(loaded.map((e) => e.scan));
  return { doc, awareness, disk, stats, timeline, search: new TicketSearch(gateDocTypes(doc).tickets), loaded };
}

/**
 * Appends every update (except those replayed from disk) to the disk log. Log first, then relay: the relay never
 * waits for the disk, the scan answer does (GateDesk awaits durable()). `count()` is the updates applied to the
 * replica but not yet on disk: what a kill -9 right now would lose (/status `unsaved`).
 */
function logUpdates(replica: Replica, log: AgentLog, changed: () => void, cleanups: Cleanups): { count: () => number } {
  let unsaved = 0;
  const onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === DISK_ORIGIN) return;
    unsaved++;
    replica.disk.append(update).then(
      () => {
        unsaved--;
        changed();
      },
      // Not on disk, so it stays counted: a broken log is reported, not hidden.
      (error: unknown) => log.warn(`disk append failed: ${String(error)}`),
    );
    changed();
  };
  replica.doc.on('update', onUpdate);
  cleanups.push(() => replica.doc.off('update', onUpdate));
  return { count: () => unsaved };
}

interface Presence {
  readonly pending: PendingTracker;
  /** publishes the awareness state now (throttled) */
  publish(): void;
  /** a scan here became durable at `at` */
  scanned(at: number): void;
  /** the gate screen showed these announcements: listed in the presence, so the hub counts this screen */
  showed(ids: readonly string[]): void;
}

/** How many shown announcement ids the presence carries (newest first): enough for a day's emergencies and notices. */
const SHOWN_IN_PRESENCE = 20;

/**
 * The gate's awareness state `{gate, device, online, pending, lastScan, shown}` (what the hub publishes on
 * `event/{e}/gates`; `shown`: the announcements the gate screen showed, which the hub counts), throttled to one change per 250 ms, and the pending tracker that feeds its `pending`.
 */
async function startPresence(
  deps: { options: AgentOptions; device: string; replica: Replica; hubOnline: () => boolean; changed: () => void },
  cleanups: Cleanups,
): Promise<Presence> {
  const { options, device, replica } = deps;
  const state = { pending: 0, lastScan: null as number | null, shown: [] as string[] };
  const publish = throttle(() => {
    replica.awareness.setLocalState({ gate: options.gate, device, online: deps.hubOnline(), ...state });
  }, 250);
  cleanups.push(() => publish.cancel());
  const pending = await PendingTracker.load(join(options.data, 'hub-state.json'), () => {
    state.pending = pending.pending;
    publish();
    deps.changed();
  });
  cleanups.push(() => pending.close());
  pending.track(replica.loaded);
  state.pending = pending.pending;
  return {
    pending,
    publish,
    scanned(at) {
      state.lastScan = at;
      publish();
    },
    showed(ids) {
      const fresh = ids.filter((id) => !state.shown.includes(id));
      if (fresh.length === 0) return;
      state.shown = [...fresh, ...state.shown].slice(0, SHOWN_IN_PRESENCE);
      publish();
    },
  };
}

/** Every batch of scans that reaches the replica, by any path: into the timeline, the pending count and listeners. */
function watchScans(
  replica: Replica,
  deps: { pending: PendingTracker; isHub: (origin: unknown) => boolean; listeners: Listeners<[ScanBatch]>; log: AgentLog },
  cleanups: Cleanups,
): void {
  const stop = observeScans(replica.doc, (batch) => {
    replica.timeline.addMany(batch.entries.map((e) => e.scan));
    deps.pending.track(batch.entries, deps.isHub(batch.origin));
    if (batch.invalid.length > 0) deps.log.warn(`ignored ${batch.invalid.length} scan record(s) that break the schema`);
    deps.listeners.emit(batch);
  });
  cleanups.push(stop);
}

/** The agent's connections: the mesh server peers dial, links to each `--peer`, and the link to the hub. */
interface Links {
  readonly mesh: MeshServer;
  readonly peers: SyncLink[];
  readonly hub: SyncLink | undefined;
  /** when the hub link's last synced moment was (ms since the epoch; 0 = never) */
  lastSync(): number;
  /** true when a transaction origin is the hub's session */
  isHub(origin: unknown): boolean;
  /** starts dialling (after the HTTP server listens, so peers dialling back find it) */
  start(cleanups: Cleanups): void;
}

function openLinks(deps: {
  options: AgentOptions;
  device: string;
  replica: Replica;
  relay: ReplicaRelay;
  pairing: MeshPairing;
  pending: PendingTracker;
  log: AgentLog;
  changed: () => void;
  presenceChanged: () => void;
  /** the agent can never work as started */
  failed: (error: AgentFatalError) => void;
}): Links {
  const { options, device, replica, relay, pairing, pending, log, changed } = deps;
  const sync = { doc: replica.doc, awareness: replica.awareness };
  let lastSync = 0;

  // Peers relay the hub's roster, so they may write anywhere; but what lands in `scans` must be valid records, or
  // one bad laptop would spread them through the mesh and into every later sync with the hub.
  const admitFromPeer = (update: Uint8Array): { ok: true } | { ok: false; message: string; malformed: boolean } => {
    const check = checkGateUpdate(replica.doc, update, { from: 'peer' });
    return check.ok ? { ok: true } : { ok: false, message: `${check.reason}: ${check.message}`, malformed: check.reason === 'malformed' };
  };
  const answerer = new MeshAnswerer({
    event: options.event,
    gate: options.gate,
    device,
    credentials: () => pairing.current,
    // Before the meta has synced no gate list is known: the mesh proof alone decides.
    knownGate: (gate) => {
      const gates = readMeta(replica.doc)?.gates;
      return gates === undefined || gates.some((g) => g.id === gate);
    },
  });
  const mesh = new MeshServer({
    event: options.event,
    device,
    answerer,
    replica: sync,
    relay,
    admit: admitFromPeer,
    hooks: {
      onMalformed: (_s, error) => log.warn(`peer sent a malformed frame, socket closed: ${error.message}`),
      onRefused: (_s, message) => log.warn(`peer update refused, socket closed: ${message}`),
    },
  });

  const docPath = `/yjs/${gateDocName(options.event)}`;
  const tokenQuery = `token=${encodeURIComponent(options.token)}`;
  const peers = options.peer.map(
    (peer) =>
      new SyncLink({
        url: `${peer}${docPath}`,
        // A fresh challenge and proof per attempt; no credentials yet means no dialling (retried with backoff).
        prepare: async () => {
          const credentials = pairing.current;
          if (!credentials) throw new Error('not paired with the hub yet');
          return prepareDial(peer, docPath, credentials, device);
        },
        kind: 'peer',
        replica: sync,
        relay,
        admit: admitFromPeer,
        hooks: {
          onMalformed: (_s, error) => log.warn(`peer ${peer} sent a malformed frame: ${error.message}`),
          onRefused: (_s, message) => log.warn(`peer ${peer}: update refused: ${message}`),
        },
        onStateChange: (link) => {
          log.info(`peer ${link.label}: ${link.state}${link.lastError ? ` (${link.lastError})` : ''}`);
          changed();
        },
      }),
  );
  const hub = options.hub
    ? new SyncLink({
        url: `${options.hub}${docPath}?${tokenQuery}`,
        kind: 'hub',
        replica: sync,
        relay,
        hooks: {
          // Pending drains only on what the hub says it has: its sync step 1, at connect and again once it has
          // stored what we sent. A frame written to the socket is not a scan the hub holds (a stall would hide).
          onRemoteState: (_s: SyncSession, state: Map<number, number>) => pending.hubReached(state),
          onDelivered: () => {
            lastSync = Date.now();
          },
          onSynced: () => {
            lastSync = Date.now();
          },
          onFrame: () => {
            if (hub?.state === 'online') lastSync = Date.now();
          },
          onMalformed: (_s: SyncSession, error: Error) => log.warn(`hub sent a malformed frame: ${error.message}`),
        },
        onStateChange: (link) => {
          log.info(`hub ${link.label}: ${link.state}${link.lastError ? ` (${link.lastError})` : ''}`);
          deps.presenceChanged();
          changed();
        },
        onRefused: (_link, code, reason) => {
          // A token for a gate the event does not have never heals: say which gate instead of retrying for ever.
          const gate = code === CloseCode.forbidden ? parseUnknownGateReason(reason) : undefined;
          if (gate !== undefined) {
            deps.failed(new AgentFatalError(`the hub refused gate "${gate}": event "${options.event}" has no such gate (check --gate and the token's gate claim against the event's gates)`));
          }
        },
      })
    : undefined;

  return {
    mesh,
    peers,
    hub,
    lastSync: () => lastSync,
    isHub: (origin) => hub?.session !== undefined && origin === hub.session,
    start(cleanups) {
      cleanups.push(pairing.onPaired(() => peers.forEach((link) => link.kick())));
      // Registered after the HTTP server, so it runs before it on shutdown: server.close() waits for upgraded sockets too.
      cleanups.push(() => mesh.close());
      for (const link of [...peers, ...(hub ? [hub] : [])]) {
        link.start();
        cleanups.push(() => link.close());
      }
    },
  };
}

/** What `GET /status` reports. */
function statusOf(deps: {
  options: AgentOptions;
  device: string;
  replica: Replica;
  relay: ReplicaRelay;
  desk: GateDesk;
  links: Links;
  pending: PendingTracker;
  unsaved: () => number;
  paired: () => boolean;
}): AgentStatus {
  const { options, replica, links } = deps;
  const counts = replica.timeline.counts();
  return {
    online: links.hub?.state === 'online',
    peers: countPeers(deps.relay.list('peer'), deps.device),
    pending: deps.pending.pending,
    lastSync: links.lastSync(),
    tickets: gateDocTypes(replica.doc).tickets.size,
    scans: counts.scans,
    event: options.event,
    gate: options.gate,
    device: deps.device,
    zone: deps.desk.zone ?? null,
    hub: links.hub ? links.hub.state : 'none',
    inside: counts.inside,
    duplicates: counts.duplicates,
    unsaved: deps.unsaved(),
    paired: deps.paired(),
  };
}

/** The HTTP server: the gate API and screen, and the upgrade to the mesh endpoint. */
async function serveHttp(
  deps: { options: AgentOptions; desk: GateDesk; replica: Replica; status: () => AgentStatus; mesh: MeshServer; showed: (ids: string[]) => void },
  cleanups: Cleanups,
): Promise<{ port: number; url: string }> {
  const { options, replica } = deps;
  const screen = await readFile(new URL('./gate-screen.html', import.meta.url), 'utf8');
  const api = createHttpApi({
    desk: deps.desk,
    search: replica.search,
    status: deps.status,
    inside: (code) => replica.timeline.state(code)?.inside ?? false,
    screen,
    notices: { read: () => readNotices(replica.doc), onChange: (listener) => onNoticesChange(replica.doc, listener) },
    showed: deps.showed,
    lanApi: options.lanApi,
  });
  const server: Server = createServer((request, response) => {
    // The mesh challenge is for peers on the LAN, whatever `--lan-api` says; it reveals nothing but a nonce.
    if (request.method === 'GET' && request.url === CHALLENGE_PATH) return deps.mesh.serveChallenge(response);
    return api(request, response);
  });
  server.on('upgrade', (request, socket, head) => {
    if (deps.mesh.handles(request)) return deps.mesh.upgrade(request, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return { port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/** Distinct devices among open peer sessions; a client that did not say who it is counts on its own. */
function countPeers(sessions: SyncSession[], self: string): number {
  const ids = new Set(sessions.map((s) => s.remoteDevice ?? s.id));
  ids.delete(self);
  return ids.size;
}

/** A set of listeners; `add` returns the unsubscribe function. */
class Listeners<A extends unknown[]> {
  readonly #set = new Set<(...args: A) => void>();

  add(listener: (...args: A) => void): () => void {
    this.#set.add(listener);
    return () => this.#set.delete(listener);
  }

  emit(...args: A): void {
    for (const listener of this.#set) listener(...args);
  }
}

function throttle(fn: () => void, ms: number): (() => void) & { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  const run = (): void => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const throttled = (): void => {
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  return Object.assign(throttled, { cancel: () => clearTimeout(timer) });
}
