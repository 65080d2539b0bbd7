import { encodeMessage } from '@opshub/replica';
import * as Y from 'yjs';

/** Past this share of the cached state, the changes since it are folded into a new one. */
const REFRESH_SHARE = 1 / 8;
/** A cache no gate asked for in this long is dropped: it holds a copy of the whole doc. */
const IDLE_MS = 5 * 60_000;

interface CachedState {
  /** sync step 2 with the whole doc as it was when cached */
  readonly frame: Uint8Array;
  /** the doc's state vector then */
  readonly stateVector: Uint8Array;
  idle: NodeJS.Timeout;
}

/**
 * The hub's answer to a gate that asks for everything (sync step 1 with an empty state vector: a new laptop, or one
 * whose replica was wiped). Encoding a 20,000-ticket doc takes 40–130 ms on the thread that serves every socket, and
 * ten gates starting together asked for it ten times in a row (issue #19: opshub's first sync was 1.3× the peers'),
 * so the encoding is kept per doc and each fresh gate gets it plus the changes since (two sync step 2 frames whose
 * union is the doc now; a scan map entry has no neighbours, so the order of the two does not matter for what
 * integrates). The changes since are encoded from the cached state vector and cost what changed, plus the delete
 * set; once they exceed an eighth of the cached state, the cache is encoded again. Gates with a replica (non-empty
 * state vector) get the usual diff. Memory: one encoded copy of each doc a fresh gate asked for, for five minutes.
 */
export class FullStateAnswers {
  readonly #cache = new WeakMap<Y.Doc, CachedState>();

  /** True when a sync step 1 asks for the whole doc. */
  static asksForEverything(stateVector: Uint8Array): boolean {
    // An empty state vector is the varint 0 (no clients).
    return stateVector.length === 1 && stateVector[0] === 0;
  }

  /** The frames that bring a replica with nothing up to `doc` as it is now. */
  answer(doc: Y.Doc): Uint8Array[] {
    let cached = this.#cache.get(doc);
    if (cached) {
      const since = Y.encodeStateAsUpdate(doc, cached.stateVector);
      if (since.byteLength <= cached.frame.byteLength * REFRESH_SHARE) {
        cached.idle.refresh();
        return [cached.frame, encodeMessage({ kind: 'sync-step2', update: since })];
      }
      clearTimeout(cached.idle);
    }
    cached = {
      frame: encodeMessage({ kind: 'sync-step2', update: Y.encodeStateAsUpdate(doc) }),
      stateVector: Y.encodeStateVector(doc),
      idle: this.#dropWhenIdle(new WeakRef(doc)),
    };
    this.#cache.set(doc, cached);
    return [cached.frame];
  }

  /** A weak reference: a doc the hub released is not kept alive by its cache's timer. */
  #dropWhenIdle(doc: WeakRef<Y.Doc>): NodeJS.Timeout {
    return setTimeout(() => {
      const held = doc.deref();
      if (held) this.#cache.delete(held);
    }, IDLE_MS).unref();
  }
}
