import type { Kysely } from 'kysely';
import * as Y from 'yjs';
import type { Database } from '@opshub/schema/db';
import { encodeAwarenessUpdate, applyAwarenessUpdate } from 'y-protocols/awareness';
import { countScans, gateDocName, writeDirectives, writeNotices, legacyScanCount, observeScans, putTickets, writeMeta, type ScanBatch, type Ticket, type TimelineChange } from '@opshub/replica';
import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../log.ts';
import { NotFoundError } from '../store/errors.ts';
import { currentNotices } from '../store/repos/announcements-repo.ts';
import { listDirectives } from '../store/repos/directives-repo.ts';
import { eventKeys } from '../store/repos/event-keys-repo.ts';
import { getEvent } from '../store/repos/events-repo.ts';
import { getTickets, listRosterPage } from '../store/repos/tickets-repo.ts';
import { appendDocUpdates, compactDoc, loadDoc, type StoredDoc } from '../store/repos/yjs-repo.ts';
import type { Store } from '../store/store.ts';
import { GateReplica } from './gate-replica.ts';
import { HubDocWriter } from './hub-doc-writer.ts';
import { meshSecretOf } from './mesh-secret.ts';
import { DerivationQueue } from './derivation-queue.ts';
import { OffThreadMerge } from './off-thread-merge.ts';
import { isLocalEntry, Origin } from './origins.ts';

/** What the transport and the streams hear from the host. Every hook is optional. */
export interface ReplicaListener {
  /** a doc update to fan out to this hub's sockets (except `origin`, when it is one) */
  docUpdate?(replica: GateReplica, update: Uint8Array, origin: unknown): void;
  /** an awareness update to fan out, and which client ids it changed */
  awarenessUpdate?(replica: GateReplica, update: Uint8Array, changed: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void;
  /** scans that entered the doc, by any path */
  scans?(replica: GateReplica, batch: ScanBatch, change: TimelineChange): void;
  /** the replica finished loading: `change` holds everything derived from the stored scans (for reconciliation) */
  loaded?(replica: GateReplica, change: TimelineChange): void;
  /**
   * updates that entered through this hub are stored up to `stateVector` (the doc's state when the batch was taken,
   * at `takenAt`, `performance.now()`): what a gate may stop counting as pending
   */
  durable?(replica: GateReplica, stateVector: Uint8Array, takenAt: number): void;
  /** true while frames wait to be checked, applied and relayed: derivation gives way to them (briefly) */
  relayWaits?(): boolean;
}

export interface ReplicaHostOptions {
  /** how long a replica nobody holds stays in memory (ms) */
  readonly idleUnloadMs: number;
  /** how often stored updates from other hubs are pulled in (ms); the bus is the fast path, this is the safety net */
  readonly antiEntropyMs: number;
  /** updates batched into one insert for at most this long (ms) */
  readonly persistDelayMs: number;
  /**
   * compact a doc's update log once this hub appended this many rows to it, and at least an eighth of the last
   * snapshot's size (a compaction rewrites the whole doc: late in a day that is tens of MB, so it must stay rare)
   */
  readonly compactAfter: number;
}

export const defaultReplicaHostOptions: ReplicaHostOptions = Object.freeze({ idleUnloadMs: 30_000, antiEntropyMs: 2_000, persistDelayMs: 20, compactAfter: 500 });

const SIGNAL_DOC = 0;
const SIGNAL_AWARENESS = 1;
/**
 * Tickets written into the doc per Store transaction. A page is one synchronous Yjs write and, on PGlite, a query whose
 * rows are parsed on this thread; each page also costs a transaction (lock, catch-up, read, append) of round trips to
 * PGlite's worker. A 100,000-row import (a gate holding the doc) took 19.4 s in pages of 250, 12.8 s in pages of
 * 500 (a control ping's p99 16–18 ms), 12 s in pages of 1,000 (p99 23–33 ms) and no less in pages of 2,500 (p99
 * 45 ms) on a quiet 2-core machine (2026-12-04). On PostgreSQL the query runs elsewhere and a page of 1,000 costs
 * this thread about as little.
 */
const ROSTER_PAGE = { pglite: 500, postgres: 1_000 } as const;

/** Stored updates read per Store query when a doc loads. */
const LOAD_PAGE = 20;
/**
 * Bytes of stored updates applied per Yjs transaction when a doc loads, a turn of the event loop between two: a page
 * of 20 roster writes of 1,000 tickets each is about 2.4 MB, and applying that at once held every socket for more
 * than 100 ms (a reload's ping p99 125 ms; 30 ms in slices). Small updates (scans) still go 20 to a transaction.
 */
const LOAD_BYTES = 256 * 1024;

interface Held {
  replica: Promise<GateReplica>;
  loaded?: GateReplica;
  unloadTimer?: NodeJS.Timeout;
  pending: Uint8Array[];
  flushTimer?: NodeJS.Timeout;
  flushing?: Promise<void>;
  /** rows and bytes this hub appended since its last compaction, and the size that compaction wrote */
  sinceCompaction: { rows: number; bytes: number };
  snapshotBytes: number;
  /** ids of the rows this hub appended and has not yet passed in the Store's order: the pull skips them */
  ownIds: Set<string>;
  /** meta, roster and directive writes: durable before relay, one writer per doc (see hub-doc-writer.ts) */
  writer?: HubDocWriter;
  /** scans that entered the doc, waiting to be indexed and derived (after the relay, in yielding slices) */
  derivation?: DerivationQueue;
  cleanup: (() => void)[];
}

/**
 * Holds the gate docs this hub serves: loads each from the Store before anyone syncs with it (never served empty),
 * persists what enters through this hub (batched; compacted into snapshots), exchanges updates with the other hubs
 * over bus signals, pulls stored updates as a safety net, projects the roster and meta from the Store, and unloads
 * a doc nobody holds.
 * @example const replica = await host.acquire('expo'); …; host.release('expo');
 */
export class ReplicaHost {
  readonly #held = new Map<string, Held>();
  readonly #listeners: ReplicaListener[] = [];
  readonly #antiEntropy: NodeJS.Timeout;
  /** compactions merge a whole doc: in a worker thread, not on the one that serves every socket */
  readonly #merger = new OffThreadMerge();
  #closed = false;

  constructor(
    private readonly deps: { store: Store; bus: Bus; log: Logger; onOpenDocs?: (n: number) => void },
    private readonly options: ReplicaHostOptions = defaultReplicaHostOptions,
  ) {
    this.#antiEntropy = setInterval(() => void this.#pullAll(), options.antiEntropyMs);
    this.#antiEntropy.unref();
  }

  listen(listener: ReplicaListener): void {
    this.#listeners.push(listener);
  }

  get openDocs(): number {
    return this.#held.size;
  }

  /** true when no replica holds scans waiting to be derived (they are handed to the listeners a slice per turn) */
  get derivationIdle(): boolean {
    for (const held of this.#held.values()) if ((held.derivation?.pending ?? 0) > 0) return false;
    return true;
  }

  /** The replica of `event`, loaded if needed; hold it until {@link release}. Rejects with NotFoundError for an unknown event. */
  async acquire(event: string): Promise<GateReplica> {
    if (this.#closed) throw new Error('replica host is closed');
    let held = this.#held.get(event);
    if (!held) {
      held = { replica: Promise.resolve(undefined as never), pending: [], sinceCompaction: { rows: 0, bytes: 0 }, snapshotBytes: 0, ownIds: new Set(), cleanup: [] };
      const entry = held;
      entry.replica = this.#load(event, entry);
      this.#held.set(event, entry);
      this.deps.onOpenDocs?.(this.#held.size);
      entry.replica.catch(() => {
        if (this.#held.get(event) === entry) this.#held.delete(event);
        this.deps.onOpenDocs?.(this.#held.size);
      });
    }
    clearTimeout(held.unloadTimer);
    const replica = await held.replica;
    replica.refs++;
    return replica;
  }

  release(event: string): void {
    const held = this.#held.get(event);
    const replica = held?.loaded;
    if (!held || !replica) return;
    if (--replica.refs > 0) return;
    held.unloadTimer = setTimeout(() => void this.#unload(event, held), this.options.idleUnloadMs);
    held.unloadTimer.unref();
  }

  /**
   * Brings the roster in the doc up to date with the Store (tickets imported, issued or revoked), loading the doc
   * for the moment if no socket holds it. Tickets equal to the doc's are skipped, so this is cheap to repeat.
   */
  async projectRoster(event: string): Promise<number> {
    const replica = await this.acquire(event);
    try {
      return await this.#writeRoster(replica);
    } finally {
      this.release(event);
    }
  }

  /**
   * Writes these tickets, as the Store has them now, into the doc (loading it for the moment if no socket holds it):
   * a door sale or a refund touches a few codes, and must reach the gates in milliseconds, not after a pass over a
   * roster of 100,000. Codes the Store does not have are skipped.
   * @example await host.projectTickets('expo', ['BO-7K2QX9ABCD']);
   */
  async projectTickets(event: string, codes: readonly string[]): Promise<number> {
    if (codes.length === 0) return 0;
    await this.acquire(event);
    try {
      // In pages like the roster (an upload of 2,000 rows from the console is 2,000 codes), a turn of the event loop
      // between them; a door sale is one page.
      const limit = ROSTER_PAGE[this.deps.store.kind];
      let written = 0;
      for (let from = 0; from < codes.length; from += limit) {
        if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        const page = codes.slice(from, from + limit);
        written += await this.#writerOf(event).write(
          (trx) => getTickets(trx, event, page),
          (doc, tickets) => putTickets(doc, tickets.map((t) => [t.code, toReplicaTicket(t)] as const), Origin.hub),
        );
      }
      return written;
    } finally {
      this.release(event);
    }
  }

  /**
   * Brings the event's meta in the doc (name, time zone, zones, gates, public key) up to date with the Store after
   * the event was edited, loading the doc for the moment if no socket holds it. Written with the hub's origin, so it
   * reaches this hub's gates at once and the other hubs' over the bus, like a roster change.
   */
  async projectMeta(event: string): Promise<void> {
    const replica = await this.acquire(event);
    try {
      await this.#writeMeta(replica);
    } finally {
      this.release(event);
    }
  }

  /**
   * Brings the doc's directives (gate states, zone door policies) up to date with the Store, loading the doc for the
   * moment if no socket holds it; durable before it is relayed, like every hub write. `db`: the handle the write
   * runs on (the Store's `urgentDb` for the control room's levers; loading the doc stays ordinary work).
   */
  async projectDirectives(event: string, db: Kysely<Database> = this.deps.store.db): Promise<void> {
    const replica = await this.acquire(event);
    try {
      await this.#writeDirectives(replica, db);
    } finally {
      this.release(event);
    }
  }

  /**
   * Applies what other hubs stored since this replica's last pull, now (a gate relayed a hub write this hub has not
   * heard of yet: it is in the Store, since hub writes are stored before they are relayed).
   */
  async catchUp(event: string): Promise<void> {
    const held = this.#held.get(event);
    const replica = held?.loaded;
    if (!held || !replica) return;
    applyStored(replica, await loadDoc(this.deps.store.db, replica.docName, replica.lastUpdateId, (id) => held.ownIds.has(id)));
    forgetPassed(held, replica);
  }

  /**
   * Runs a hub write on the doc of `event` (held by the caller): stored under the doc's lock, then relayed.
   * @example await host.writeAsHub('expo', (trx) => getDirectives(trx, 'expo'), (doc, d) => writeDirectives(doc, d, Origin.hub));
   */
  async writeAsHub<D, T>(event: string, read: (trx: Kysely<Database>) => Promise<D>, change: (doc: Y.Doc, data: D) => T): Promise<T> {
    return this.#writerOf(event).write(read, change);
  }

  #writerOf(event: string): HubDocWriter {
    const writer = this.#held.get(event)?.writer;
    if (!writer) throw new Error(`replica ${event} is not loaded`);
    return writer;
  }

  /**
   * The doc's state vector when nothing that entered through this hub waits to be stored (so all of it is durable),
   * else undefined: wait for the next `durable` notice.
   */
  storedState(event: string): Uint8Array | undefined {
    const held = this.#held.get(event);
    if (!held?.loaded || held.pending.length > 0 || held.flushing || held.flushTimer) return undefined;
    return Y.encodeStateVector(held.loaded.doc);
  }

  /** Writes everything queued, then drops every replica. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#antiEntropy);
    await Promise.all([...this.#held.entries()].map(([event, held]) => this.#unload(event, held, true)));
    await this.#merger.close();
  }

  async #load(event: string, held: Held): Promise<GateReplica> {
    const { store, bus, log } = this.deps;
    const details = await getEvent(store.db, event);
    if (!details) throw new NotFoundError('event', event);
    const replica = new GateReplica(event, gateDocName(event));
    // The stored log a page at a time, applied in Yjs transactions of at most LOAD_BYTES with a turn of the event loop
    // between them: a log of 400 roster writes (a 100,000-row import) applied at once held every socket for seconds
    // (issue #11).
    // Nobody sees the doc before it is loaded, so the pages need no lock.
    for (;;) {
      const stored = await loadDoc(store.db, replica.docName, replica.lastUpdateId, undefined, LOAD_PAGE);
      if (stored.snapshot) held.snapshotBytes = stored.snapshot.byteLength;
      const slices = byBytes(stored.updates, LOAD_BYTES);
      for (let i = 0; i < slices.length; i++) {
        if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        const last = i === slices.length - 1;
        // The position moves only with the page's last slice: each slice is applied, but the page is read as one.
        applyStored(replica, { snapshot: i === 0 ? stored.snapshot : undefined, updates: slices[i]!, lastId: last ? stored.lastId : replica.lastUpdateId });
      }
      if (stored.updates.length < LOAD_PAGE) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }

    // From here on every change is seen: persisted and sent to other hubs when it entered through this hub.
    held.writer = new HubDocWriter({
      db: store.db,
      log,
      replica,
      catchUp: async (trx) => {
        applyStored(replica, await loadDoc(trx, replica.docName, replica.lastUpdateId, (id) => held.ownIds.has(id)));
        forgetPassed(held, replica);
      },
      relay: (update, id) => {
        held.ownIds.add(id);
        // Roster writes count too: a 100,000-row import is 200 rows that every later load would read one by one.
        this.#appended(replica, held, update.byteLength);
        bus.signal(`yjs/${replica.docName}`, withKind(SIGNAL_DOC, update)).catch(() => {});
        for (const l of this.#listeners) l.docUpdate?.(replica, update, Origin.hub);
      },
    });
    const onUpdate = (update: Uint8Array, origin: unknown) => {
      // The hub's own writes are stored and relayed by the writer, after they are durable.
      if (origin === Origin.hub) return;
      if (isLocalEntry(origin)) {
        held.pending.push(update);
        this.#scheduleFlush(replica, held);
        bus.signal(`yjs/${replica.docName}`, withKind(SIGNAL_DOC, update)).catch(() => {
          // The other hubs will find the update in the Store on their next anti-entropy pull.
        });
      }
      for (const l of this.#listeners) l.docUpdate?.(replica, update, origin);
    };
    replica.doc.on('update', onUpdate);
    held.cleanup.push(() => replica.doc.off('update', onUpdate));

    const onAwareness = (changed: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      const clients = [...changed.added, ...changed.updated, ...changed.removed];
      if (clients.length === 0) return;
      const update = encodeAwarenessUpdate(replica.awareness, clients);
      if (isLocalEntry(origin) && origin !== Origin.hub) {
        bus.signal(`yjs/${replica.docName}`, withKind(SIGNAL_AWARENESS, update)).catch(() => {});
      }
      for (const l of this.#listeners) l.awarenessUpdate?.(replica, update, changed, origin);
    };
    replica.awareness.on('update', onAwareness);
    held.cleanup.push(() => replica.awareness.off('update', onAwareness));

    const onSignal = (payload: Uint8Array) => {
      const body = payload.subarray(1);
      try {
        if (payload[0] === SIGNAL_DOC) Y.applyUpdate(replica.doc, body, Origin.bus);
        else if (payload[0] === SIGNAL_AWARENESS) applyAwarenessUpdate(replica.awareness, body, Origin.bus);
      } catch (err) {
        log.warn({ err, doc: replica.docName }, 'ignored a malformed update from another hub');
      }
    };
    await bus.onSignal(`yjs/${replica.docName}`, onSignal);
    held.cleanup.push(() => void bus.offSignal(`yjs/${replica.docName}`, onSignal).catch(() => {}));

    // Meta and roster come from the Store, the system of record, every time the doc loads.
    await this.#writeMeta(replica);
    await this.#writeRoster(replica);
    await this.#writeDirectives(replica);

    const legacy = legacyScanCount(replica.doc);
    if (legacy > 0) log.error({ doc: replica.docName, legacy }, 'the stored doc holds scans in format 1 (a "scans" array), which nothing reads: they are not counted');
    const initial = replica.indexAll();
    const derivation = new DerivationQueue(
      (batch) => {
        const change = replica.index(batch.entries.map((e) => e.scan));
        for (const l of this.#listeners) l.scans?.(replica, batch, change);
      },
      () => this.#listeners.some((l) => l.relayWaits?.()),
    );
    held.derivation = derivation;
    const stopScans = observeScans(replica.doc, (batch) => derivation.push(batch));
    held.cleanup.push(stopScans);
    held.loaded = replica;
    for (const l of this.#listeners) l.loaded?.(replica, initial);
    log.info({ doc: replica.docName, scans: countScans(replica.doc) }, 'replica loaded');
    return replica;
  }

  async #writeMeta(replica: GateReplica): Promise<void> {
    await this.#writerOf(replica.event).write(
      async (trx) => {
        const details = await getEvent(trx, replica.event);
        if (!details) throw new NotFoundError('event', replica.event);
        return { details, keys: await eventKeys(trx, replica.event) };
      },
      (doc, { details, keys }) => {
        replica.meshSecret = meshSecretOf(keys.privateJwk);
        const { id: event, name, timezone, zones, gates } = details;
        writeMeta(doc, { event, name, timezone, zones, gates, publicKey: keys.publicJwk }, Origin.hub);
      },
    );
  }

  async #writeDirectives(replica: GateReplica, db: Kysely<Database> = this.deps.store.db): Promise<void> {
    await this.#writerOf(replica.event).write(
      // The announcements the gate screens show travel with the directives (issue 12 item 6): same writer, same guard.
      async (trx) => ({ ...(await listDirectives(trx, replica.event)), notices: await currentNotices(trx, replica.event) }),
      (doc, { gates, zones, notices }) => {
        writeNotices(doc, notices, Origin.hub);
        writeDirectives(
          doc,
          {
            gates: Object.fromEntries(gates.map((g) => [g.gate, { state: g.state, ...(g.message ? { message: g.message } : {}), at: g.at }])),
            zones: Object.fromEntries(zones.map((z) => [z.zone, { full: z.full, redirect: z.redirect, enforce: z.enforce, at: z.at }])),
          },
          Origin.hub,
        );
      },
      db,
    );
  }

  async #writeRoster(replica: GateReplica): Promise<number> {
    let written = 0;
    let after: string | undefined;
    const limit = ROSTER_PAGE[this.deps.store.kind];
    for (;;) {
      // Each page is read under the doc's lock, right before it is written (see hub-doc-writer.ts).
      const from = after;
      const { count, last } = await this.#writerOf(replica.event).write(
        (trx) => listRosterPage(trx, replica.event, { after: from, limit }),
        (doc, page) => ({ count: page.length, last: page.at(-1)?.code, written: putTickets(doc, page.map((t) => [t.code, toReplicaTicket(t)] as const), Origin.hub) }),
      ).then((r) => {
        written += r.written;
        return r;
      });
      if (count < limit || last === undefined) break;
      after = last;
      // On PGlite a page's statements resolve without ever reaching the event loop's poll phase: without this turn a
      // 100-page roster ran as one chain of microtasks and held every socket for seconds (issue #11).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return written;
  }

  #scheduleFlush(replica: GateReplica, held: Held): void {
    if (held.flushTimer) return;
    held.flushTimer = setTimeout(() => {
      held.flushTimer = undefined;
      void this.#flush(replica, held);
    }, this.options.persistDelayMs);
  }

  /** Appends queued updates as one merged row; on failure they stay queued and are retried. */
  async #flush(replica: GateReplica, held: Held): Promise<void> {
    if (held.flushing) return held.flushing;
    if (held.pending.length === 0) return;
    const batch = held.pending.splice(0);
    // Every update that entered through this hub so far is in `batch` or stored before it: once it is stored, the
    // doc's state now is durable (updates from other hubs are their hubs' to store).
    const covered = Y.encodeStateVector(replica.doc);
    const takenAt = performance.now();
    held.flushing = (async () => {
      try {
        const merged = Y.mergeUpdates(batch);
        for (const id of await appendDocUpdates(this.deps.store.db, replica.docName, [merged])) held.ownIds.add(id);
        this.#appended(replica, held, merged.byteLength);
        for (const l of this.#listeners) l.durable?.(replica, covered, takenAt);
      } catch (err) {
        held.pending.unshift(...batch);
        this.deps.log.error({ err, doc: replica.docName }, 'persisting doc updates failed; retrying');
        setTimeout(() => this.#scheduleFlush(replica, held), 500).unref();
      } finally {
        held.flushing = undefined;
        // Updates that came while this batch was being written found the flush busy: their turn now, not whenever
        // the next update happens to arrive.
        if (held.pending.length > 0) this.#scheduleFlush(replica, held);
      }
    })();
    return held.flushing;
  }

  /** Counts a row this hub appended to the doc's log, and compacts the log when it has grown enough. */
  #appended(replica: GateReplica, held: Held, bytes: number): void {
    const since = held.sinceCompaction;
    since.rows++;
    since.bytes += bytes;
    if (since.rows >= this.options.compactAfter && since.bytes * 8 >= held.snapshotBytes) {
      held.sinceCompaction = { rows: 0, bytes: 0 };
      void this.#compact(replica, held);
    }
  }

  /**
   * Folds the doc's log into a snapshot, then catches up on the other hubs' updates it folded (already read), so the
   * next pull starts after the snapshot instead of reading it back.
   */
  async #compact(replica: GateReplica, held: Held): Promise<void> {
    try {
      const { bytes, upto, base, updates, state } = await compactDoc(this.deps.store.db, replica.docName, (parts) => this.#merger.merge(parts));
      held.snapshotBytes = bytes;
      const after = BigInt(replica.lastUpdateId);
      // Behind the snapshot it was built on (another hub compacted before this replica pulled): the new snapshot holds
      // what the folded updates do not.
      const snapshot = state && after < BigInt(base) ? state : undefined;
      applyStored(replica, { snapshot, updates: updates.filter((u) => BigInt(u.id) > after && !held.ownIds.has(u.id)), lastId: upto });
      forgetPassed(held, replica);
    } catch (err) {
      this.deps.log.warn({ err, doc: replica.docName }, 'compaction failed');
    }
  }

  /** Applies updates other hubs stored since the last pull (the safety net under bus signals). */
  async #pullAll(): Promise<void> {
    for (const held of this.#held.values()) {
      const replica = held.loaded;
      if (!replica) continue;
      try {
        applyStored(replica, await loadDoc(this.deps.store.db, replica.docName, replica.lastUpdateId, (id) => held.ownIds.has(id)));
        forgetPassed(held, replica);
      } catch (err) {
        this.deps.log.warn({ err, doc: replica.docName }, 'anti-entropy pull failed');
      }
    }
  }

  async #unload(event: string, held: Held, force = false): Promise<void> {
    const replica = await held.replica.catch(() => undefined);
    if (!replica) return;
    if (!force && replica.refs > 0) return;
    clearTimeout(held.flushTimer);
    held.flushTimer = undefined;
    await this.#flush(replica, held);
    if (held.pending.length > 0) await this.#flush(replica, held);
    if (!force && replica.refs > 0) return;
    // Scans waiting to be derived are derived now: the derivation is what records their check-ins.
    held.derivation?.flush();
    for (const cleanup of held.cleanup) cleanup();
    replica.destroy();
    if (this.#held.get(event) === held) this.#held.delete(event);
    this.deps.onOpenDocs?.(this.#held.size);
  }
}

/** `items` in runs of at most `budget` bytes of `update` each (an item larger than that is a run of its own); at least one run. */
function byBytes<T extends { update: Uint8Array }>(items: readonly T[], budget: number): T[][] {
  const runs: T[][] = [[]];
  let bytes = 0;
  for (const item of items) {
    if (bytes > 0 && bytes + item.update.byteLength > budget) {
      runs.push([]);
      bytes = 0;
    }
    runs.at(-1)!.push(item);
    bytes += item.update.byteLength;
  }
  return runs;
}

/** Applies what the Store holds (tagged `store`, so it is neither stored nor relayed again) in one transaction. */
function applyStored(replica: GateReplica, stored: StoredDoc): void {
  if (stored.snapshot || stored.updates.length > 0) {
    Y.transact(
      replica.doc,
      () => {
        if (stored.snapshot) Y.applyUpdate(replica.doc, stored.snapshot, Origin.store);
        for (const { update } of stored.updates) Y.applyUpdate(replica.doc, update, Origin.store);
      },
      Origin.store,
    );
  }
  // Never backwards: a pull and a compaction may finish in either order.
  if (BigInt(stored.lastId) > BigInt(replica.lastUpdateId)) replica.lastUpdateId = stored.lastId;
}

/** Drops own row ids the replica's pull position has passed: they will not be read again. */
function forgetPassed(held: Held, replica: GateReplica): void {
  const position = BigInt(replica.lastUpdateId);
  for (const id of held.ownIds) if (BigInt(id) <= position) held.ownIds.delete(id);
}

function withKind(kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.byteLength + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

function toReplicaTicket(t: { holder: string; email: string; type: string; zones: string[]; status: 'valid' | 'revoked'; orderCode: string | null }): Ticket {
  return { holder: t.holder, email: t.email, type: t.type, zones: t.zones, status: t.status, ...(t.orderCode ? { order: t.orderCode } : {}) };
}
