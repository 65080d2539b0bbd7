/**
 * The edge agent, composed: a Yjs replica of `event/{e}/gate` loaded from disk, kept in sync with the hub and with
 * peer agents, deciding scans locally and serving the gate API and screen.
 *
 * Every doc update is tagged with its origin: 'disk' (replayed at start: neither logged nor relayed), 'local' (a
 * scan here), or the {@link SyncSession} it arrived on (hub or peer). Each update except disk ones is appended to the
 * log, and relayed to every session but its own.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { AdmissionTimeline, checkGateUpdate, gateDocName, gateDocTypes, legacyScanCount, observeScans, readMeta, readScanEntries, type ScanBatch } from '@opshub/replica';
import { resolveOptions, type AgentOptions, type AgentOptionsInput } from './agent-options.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { loadOrCreateDeviceId } from './device-id.ts';
import { DISK_ORIGIN, DiskReplica, type LoadStats } from './disk-replica.ts';
import { GateDesk } from './gate-desk.ts';
import { createHttpApi, type AgentStatus } from './http-api.ts';
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
  close(): Promise<void>;
}

const quietLog: AgentLog = { info: () => {}, warn: () => {} };

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
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
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

async function assemble(
  options: AgentOptions,
  log: AgentLog,
  started: number,
  cleanups: (() => Promise<void> | void)[],
  cleanup: () => Promise<void>,
): Promise<Agent> {
  const device = options.device ?? (await loadOrCreateDeviceId(options.data, options.gate));
  const doc = new Y.Doc();
  const { tickets } = gateDocTypes(doc);
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
  gateDocTypes(doc).meta.observe(readGateZones);
  cleanups.push(() => gateDocTypes(doc).meta.unobserve(readGateZones));
  const timeline = new AdmissionTimeline((gate) => gateZones.get(gate));
  const legacy = legacyScanCount(doc);
  if (legacy > 0) log.warn(`the replica on disk holds ${legacy} scans in format 1 (a "scans" array), which nothing reads: start with a fresh --data directory`);
  const entries = readScanEntries(doc);
  timeline.addMany(entries.map((e) => e.scan));
  const search = new TicketSearch(tickets);

  let hubLink: SyncLink | undefined;
  let lastSync = 0;
  const changeListeners = new Set<() => void>();
  const changed = (): void => {
    for (const listener of changeListeners) listener();
  };
  const presence = { pending: 0, lastScan: null as number | null };
  // Awareness state {gate, device, online, pending, lastScan}: what the hub publishes on event/{e}/gates.
  const publishPresence = throttle(() => {
    awareness.setLocalState({ gate: options.gate, device, online: hubLink?.state === 'online', ...presence });
  }, 250);
  cleanups.push(() => publishPresence.cancel());
  const pending = await PendingTracker.load(join(options.data, 'hub-state.json'), () => {
    presence.pending = pending.pending;
    publishPresence();
    changed();
  });
  cleanups.push(() => pending.close());
  pending.track(entries);
  presence.pending = pending.pending;

  const scanListeners = new Set<(batch: ScanBatch) => void>();
  const stopScans = observeScans(doc, (batch) => {
    timeline.addMany(batch.entries.map((e) => e.scan));
    pending.track(batch.entries, isHub(batch.origin));
    if (batch.invalid.length > 0) log.warn(`ignored ${batch.invalid.length} scan record(s) that break the schema`);
    for (const listener of scanListeners) listener(batch);
  });
  cleanups.push(stopScans);

  // Log first, then relay: the relay never waits for the disk, the scan answer does (GateDesk awaits durable()).
  // Updates applied to the replica but not yet on disk: what a kill -9 right now would lose (/status `unsaved`).
  let unsaved = 0;
  const onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === DISK_ORIGIN) return;
    unsaved++;
    disk.append(update).then(
      () => {
        unsaved--;
        changed();
      },
      // Not on disk, so it stays counted: a broken log is reported, not hidden.
      (error: unknown) => log.warn(`disk append failed: ${String(error)}`),
    );
    changed();
  };
  doc.on('update', onUpdate);
  cleanups.push(() => doc.off('update', onUpdate));
  const relay = new ReplicaRelay(doc, awareness, [DISK_ORIGIN]);
  cleanups.push(() => relay.close());

  const desk = new GateDesk({
    doc,
    timeline,
    gate: options.gate,
    device,
    durable: () => disk.durable(),
    onScanned: (at) => {
      presence.lastScan = at;
      publishPresence();
    },
  });

  const replica = { doc, awareness };
  const hubHooks = {
    onRemoteState: (_s: SyncSession, state: Map<number, number>) => pending.hubReached(state),
    onDelivered: (_s: SyncSession, state: Map<number, number>) => {
      pending.hubReached(state);
      lastSync = Date.now();
    },
    onSynced: () => {
      lastSync = Date.now();
    },
    onFrame: () => {
      if (hubLink?.state === 'online') lastSync = Date.now();
    },
    onMalformed: (_s: SyncSession, error: Error) => log.warn(`hub sent a malformed frame: ${error.message}`),
  };
  function isHub(origin: unknown): boolean {
    return hubLink?.session !== undefined && origin === hubLink.session;
  }

  // Peers relay the hub's roster, so they may write anywhere; but what lands in `scans` must be valid records, or
  // one bad laptop would spread them through the mesh and into every later sync with the hub.
  const admitFromPeer = (update: Uint8Array): { ok: true } | { ok: false; message: string; malformed: boolean } => {
    const check = checkGateUpdate(doc, update, { from: 'peer' });
    return check.ok ? { ok: true } : { ok: false, message: `${check.reason}: ${check.message}`, malformed: check.reason === 'malformed' };
  };
  const mesh = new MeshServer({
    event: options.event,
    device,
    replica,
    relay,
    admit: admitFromPeer,
    hooks: {
      onMalformed: (_s, error) => log.warn(`peer sent a malformed frame, socket closed: ${error.message}`),
      onRefused: (_s, message) => log.warn(`peer update refused, socket closed: ${message}`),
    },
  });

  const screen = await readFile(new URL('./gate-screen.html', import.meta.url), 'utf8');
  const docPath = `/yjs/${gateDocName(options.event)}`;
  const tokenQuery = `token=${encodeURIComponent(options.token)}`;
  const peerLinks = options.peer.map(
    (peer) =>
      new SyncLink({
        url: `${peer}${docPath}?${tokenQuery}&device=${encodeURIComponent(device)}`,
        kind: 'peer',
        replica,
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
  if (options.hub) {
    hubLink = new SyncLink({
      url: `${options.hub}${docPath}?${tokenQuery}`,
      kind: 'hub',
      replica,
      relay,
      hooks: hubHooks,
      onStateChange: (link) => {
        log.info(`hub ${link.label}: ${link.state}${link.lastError ? ` (${link.lastError})` : ''}`);
        publishPresence();
        changed();
      },
    });
  }

  const status = (): AgentStatus => {
    const counts = timeline.counts();
    return {
      online: hubLink?.state === 'online',
      peers: countPeers(relay.list('peer'), device),
      pending: pending.pending,
      lastSync,
      tickets: tickets.size,
      scans: counts.scans,
      event: options.event,
      gate: options.gate,
      device,
      zone: desk.zone ?? null,
      hub: hubLink ? hubLink.state : 'none',
      inside: counts.inside,
      duplicates: counts.duplicates,
      unsaved,
    };
  };

  const server: Server = createServer(
    createHttpApi({ desk, search, status, inside: (code) => timeline.state(code)?.inside ?? false, screen, lanApi: options.lanApi }),
  );
  server.on('upgrade', (request, socket, head) => {
    if (mesh.handles(request)) return mesh.upgrade(request, socket, head);
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
  // Registered after the server, so it runs before it on shutdown: server.close() waits for upgraded sockets too.
  cleanups.push(() => mesh.close());
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;

  for (const link of [...peerLinks, ...(hubLink ? [hubLink] : [])]) {
    link.start();
    cleanups.push(() => link.close());
  }
  publishPresence();
  const totalMs = performance.now() - started;

  return {
    options,
    device,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    doc,
    desk,
    timeline,
    startup: { ...stats, totalMs },
    status,
    onScans(listener) {
      scanListeners.add(listener);
      return () => scanListeners.delete(listener);
    },
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    close: cleanup,
  };
}

/** Distinct devices among open peer sessions; a client that did not say who it is counts on its own. */
function countPeers(sessions: SyncSession[], self: string): number {
  const ids = new Set(sessions.map((s) => s.remoteDevice ?? s.id));
  ids.delete(self);
  return ids.size;
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
