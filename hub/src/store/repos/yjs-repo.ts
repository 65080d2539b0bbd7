import { sql, type Kysely } from 'kysely';
import * as Y from 'yjs';
import type { Database } from '@opshub/schema/db';
import { inTransaction } from './in-transaction.ts';
import { advisoryXactLock, lockSpace } from './locks.ts';

/** What the Store holds of a Yjs doc: the latest snapshot and the updates appended after it. */
export interface StoredDoc {
  /** merged snapshot (empty when the doc was never compacted) */
  readonly snapshot: Uint8Array | undefined;
  readonly updates: readonly { id: string; update: Uint8Array }[];
  /** the highest update id covered by what was read ('0' for a new doc) */
  readonly lastId: string;
}

/**
 * Reads a doc from the Store: its snapshot and every update after it, or only updates after `afterId` (the
 * snapshot is included again when a compaction has folded in updates the caller has not seen). `skip` names updates
 * the caller already has (its own writes): their bytes are not fetched, though `lastId` moves past them. `limit`
 * reads at most that many updates (the first ones after the position): read on from `lastId` for the rest.
 * @example const { snapshot, updates } = await loadDoc(db, 'event/expo/gate');
 */
export async function loadDoc(db: Kysely<Database>, doc: string, afterId = '0', skip?: (id: string) => boolean, limit?: number): Promise<StoredDoc> {
  // One repeatable-read transaction, so the snapshot and the updates after it are read from one state of the Store
  // (under read committed a compaction committing between two reads could pair a snapshot with the wrong position).
  const read = async (trx: Kysely<Database>): Promise<StoredDoc> => {
    const snapshotRow = await trx.selectFrom('yjs_snapshots').select(['upto']).where('doc', '=', doc).executeTakeFirst();
    const upto = snapshotRow?.upto ?? '0';
    const needSnapshot = snapshotRow !== undefined && BigInt(upto) > BigInt(afterId);
    const from = needSnapshot ? upto : maxId(afterId, upto);
    const updatesAfter = trx.selectFrom('yjs_updates').where('doc', '=', doc).where('id', '>', from);
    let ids: string[] | undefined;
    if (skip) {
      // Ids first, bytes only for what the caller lacks: on PGlite a bytea crosses as hex text, so re-reading a
      // hub's own writes every anti-entropy round cost more than writing them.
      ids = (await updatesAfter.select('id').orderBy('id').$if(limit !== undefined, (q) => q.limit(limit!)).execute()).map((r) => String(r.id));
    }
    const wanted = ids?.filter((id) => !skip!(id));
    const rows =
      wanted === undefined
        ? await updatesAfter.select(['id', 'update']).orderBy('id').$if(limit !== undefined, (q) => q.limit(limit!)).execute()
        : wanted.length === 0
          ? []
          : await updatesAfter.select(['id', 'update']).where('id', 'in', wanted).orderBy('id').execute();
    const updates = rows.map((r) => ({ id: String(r.id), update: toBytes(r.update) }));
    const state = needSnapshot ? await trx.selectFrom('yjs_snapshots').select('state').where('doc', '=', doc).executeTakeFirstOrThrow() : undefined;
    return {
      snapshot: state ? toBytes(state.state) : undefined,
      updates,
      lastId: ids?.at(-1) ?? updates.at(-1)?.id ?? maxId(afterId, upto),
    };
  };
  return db.isTransaction ? read(db) : db.transaction().setIsolationLevel('repeatable read').execute(read);
}

/**
 * Appends updates that entered the doc through this process, under the doc's lock ({@link lockDocLog}). Returns
 * their ids. Inside a caller's transaction that already holds the lock, joins it.
 * @example await appendDocUpdates(db, 'event/expo/gate', [update]);
 */
export async function appendDocUpdates(db: Kysely<Database>, doc: string, updates: readonly Uint8Array[]): Promise<string[]> {
  if (updates.length === 0) return [];
  return inTransaction(db, async (trx) => {
    await lockDocLog(trx, doc);
    const rows = await trx
      .insertInto('yjs_updates')
      .values(updates.map((update) => ({ doc, update })))
      .returning('id')
      .execute();
    return rows.map((r) => String(r.id));
  });
}

/**
 * Takes the doc's log lock until the transaction ends (taking it twice in one transaction is free). Why: ids come
 * from a sequence when a row is inserted, but become visible when its transaction commits; two hubs appending at
 * once could commit id 101 before id 100, and a pull (or a compaction) that saw 101 would never read 100: a hub's
 * roster write lost to every other hub. With the lock, rows of one doc commit in id order.
 */
export async function lockDocLog(trx: Kysely<Database>, doc: string): Promise<void> {
  await advisoryXactLock(trx, lockSpace.yjsDoc, doc, 'exclusive');
}

/** How many updates wait to be folded into the doc's snapshot. */
export async function countDocUpdates(db: Kysely<Database>, doc: string): Promise<number> {
  const row = await db.selectFrom('yjs_updates').select((eb) => eb.fn.countAll<string>().as('n')).where('doc', '=', doc).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Merges Yjs updates into one, as `Y.mergeUpdates` does (perhaps in another thread). */
export type MergeUpdates = (parts: readonly Uint8Array[]) => Uint8Array | Promise<Uint8Array>;

/**
 * Folds the snapshot and every stored update into a new snapshot and deletes the folded updates, from what the
 * Store holds (not from a process's memory, which may lack another hub's latest update). Returns what it folded:
 * `updates` (with ids, up to `upto`) lets the caller catch up on them without reading the new snapshot back, and
 * `state` is the new snapshot, for a caller whose position is behind `base` (the snapshot it was built on).
 *
 * In three steps, so the merge (a whole doc: ~10 MB for a roster of 100,000) holds neither the doc's log lock nor,
 * on PGlite, the one connection: read without the lock (ids of one doc commit in order under that lock, so what a
 * reader sees is always a prefix of the log), merge with `merge` (the hub passes one that runs in a worker thread),
 * then, under the lock, write the snapshot and delete what it folded, unless another compaction came first (the
 * snapshot moved): then nothing is written and `folded` is 0.
 * @example await compactDoc(db, 'event/expo/gate'); // { folded: 1200, bytes: 4_812_003, upto: '5120', updates, … }
 */
export async function compactDoc(
  db: Kysely<Database>,
  doc: string,
  merge: MergeUpdates = (parts) => Y.mergeUpdates(parts as Uint8Array[]),
): Promise<{ folded: number; bytes: number; upto: string; base: string; updates: StoredDoc['updates']; state: Uint8Array | undefined }> {
  const { stored, base } = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => ({
      base: String((await trx.selectFrom('yjs_snapshots').select('upto').where('doc', '=', doc).executeTakeFirst())?.upto ?? '0'),
      stored: await loadDoc(trx, doc),
    }));
  if (stored.updates.length === 0) return { folded: 0, bytes: stored.snapshot?.byteLength ?? 0, upto: stored.lastId, base, updates: [], state: undefined };
  const parts = stored.snapshot ? [stored.snapshot, ...stored.updates.map((u) => u.update)] : stored.updates.map((u) => u.update);
  const state = await merge(parts);
  const written = await db.transaction().execute(async (trx) => {
    // The appenders' lock: two hubs never compact one doc at once (an older snapshot written over a newer one).
    await lockDocLog(trx, doc);
    const now = (await trx.selectFrom('yjs_snapshots').select('upto').where('doc', '=', doc).executeTakeFirst())?.upto ?? '0';
    if (String(now) !== String(base)) return false;
    await trx
      .insertInto('yjs_snapshots')
      .values({ doc, state, upto: stored.lastId })
      .onConflict((oc) => oc.column('doc').doUpdateSet({ state, upto: stored.lastId, updated_at: sql`now()` }))
      .execute();
    await trx.deleteFrom('yjs_updates').where('doc', '=', doc).where('id', '<=', stored.lastId).execute();
    return true;
  });
  if (!written) return { folded: 0, bytes: state.byteLength, upto: '0', base, updates: [], state: undefined };
  return { folded: stored.updates.length, bytes: state.byteLength, upto: stored.lastId, base, updates: stored.updates, state };
}

function maxId(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}

/** Both drivers return bytea as a Buffer or Uint8Array; Yjs wants a plain Uint8Array view. */
function toBytes(value: Uint8Array): Uint8Array {
  return value instanceof Uint8Array ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
}
