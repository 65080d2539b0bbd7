/**
 * The hub's own writes to a gate doc (meta, roster, directives): one writer at a time per doc, durable before relay.
 *
 * Why: a gate may relay only scans, so a hub refuses (4403) any update from a gate that carries a roster or meta
 * struct it does not know. If hub A relayed a roster write to its gates before the write reached the Store, the
 * venue mesh could carry it to a gate on hub B faster than the bus, and if the write never became durable (a crash,
 * a failed append, an id committed out of order and skipped), hub B refused that gate for good. So a hub write:
 * 1. takes the doc's log lock (the one appends and compaction take: one writer per doc across every hub),
 * 2. catches up on what the Store holds, so it builds on every other hub's writes,
 * 3. reads what it projects (tickets, meta) from the Store now, under the lock: a page read before it would be
 *    stale by the time it is written, and would write back a roster another hub has already replaced,
 * 4. applies the change with the hub's origin, capturing the update Yjs emits (nothing is relayed yet),
 * 5. appends that update to the log and commits,
 * 6. and only then relays it: to this hub's sockets and to the other hubs over the bus.
 * While it runs, the replica's `barrier` is set: the `/yjs` transport holds a doc's incoming frames until it lifts,
 * so no sync answer hands out the write before it is durable. A hub that still meets an unknown hub write from a
 * gate catches up from the Store and checks again before refusing (see the `/yjs` transport).
 */
import type { Kysely } from 'kysely';
import * as Y from 'yjs';
import type { Database } from '@opshub/schema/db';
import type { Logger } from '../log.ts';
import { appendDocUpdates, lockDocLog } from '../store/repos/yjs-repo.ts';
import type { GateReplica } from './gate-replica.ts';
import { Origin } from './origins.ts';

export interface HubDocWriterDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly replica: GateReplica;
  /** applies what the Store holds beyond the replica's position, read through `trx` (which holds the lock) */
  catchUp(trx: Kysely<Database>): Promise<void>;
  /** the write is durable as row `id`: relay it to sockets and other hubs */
  relay(update: Uint8Array, id: string): void;
}

/** How long a failed append waits before it is tried again (the write is in the doc, not yet in the Store). */
const RETRY_MS = 500;

/**
 * Serializes one doc's hub writes in this process and makes each durable before anyone sees it.
 * @example await writer.write((doc) => putTickets(doc, tickets, Origin.hub));
 */
export class HubDocWriter {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: HubDocWriterDeps) {}

  /**
   * Runs `read` (through the transaction that holds the doc's lock) and then `change` on the doc with what it read
   * (it must write with `Origin.hub`), once the doc has the stored state; resolves with the change's result once it
   * is stored and relayed. A change that writes nothing costs one short transaction.
   * `db` is the handle the write's transaction runs on: the Store's `urgentDb` for a lever's directive.
   * @example await writer.write((trx) => getTickets(trx, event, codes), (doc, tickets) => putTickets(doc, entries(tickets), Origin.hub));
   */
  write<D, T>(read: (trx: Kysely<Database>) => Promise<D>, change: (doc: Y.Doc, data: D) => T, db: Kysely<Database> = this.deps.db): Promise<T> {
    const run = this.#tail.then(() => this.#write(read, change, db));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #write<D, T>(read: (trx: Kysely<Database>) => Promise<D>, change: (doc: Y.Doc, data: D) => T, db: Kysely<Database>): Promise<T> {
    const { replica } = this.deps;
    let lift!: () => void;
    replica.barrier = new Promise<void>((resolve) => (lift = resolve));
    let captured: Uint8Array | undefined;
    let result!: T;
    try {
      const id = await db.transaction().execute(async (trx) => {
        await lockDocLog(trx, replica.docName);
        await this.deps.catchUp(trx);
        const data = await read(trx);
        const parts: Uint8Array[] = [];
        const capture = (update: Uint8Array, origin: unknown) => {
          if (origin === Origin.hub) parts.push(update);
        };
        replica.doc.on('update', capture);
        try {
          result = change(replica.doc, data);
        } finally {
          replica.doc.off('update', capture);
        }
        if (parts.length === 0) return undefined;
        captured = parts.length === 1 ? parts[0]! : Y.mergeUpdates(parts);
        return (await appendDocUpdates(trx, replica.docName, [captured]))[0]!;
      });
      if (id !== undefined && captured) this.deps.relay(captured, id);
      return result;
    } catch (err) {
      // Applied but not stored: the doc has it, nobody was told. Keep trying; relay once it is stored.
      if (captured) {
        this.deps.log.error({ err, doc: replica.docName }, 'storing a hub write failed; retrying before it is relayed');
        this.#retry(captured);
        return result;
      }
      throw err;
    } finally {
      replica.barrier = undefined;
      lift();
    }
  }

  #retry(update: Uint8Array): void {
    setTimeout(() => {
      appendDocUpdates(this.deps.db, this.deps.replica.docName, [update]).then(
        ([id]) => this.deps.relay(update, id!),
        () => this.#retry(update),
      );
    }, RETRY_MS).unref();
  }
}
