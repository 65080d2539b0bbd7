import type { ScanBatch } from '@opshub/replica';

/** How much one turn of the event loop derives: a slice ends after `scans` scans or `ms` ms, whichever comes first. */
export interface SliceLimits {
  readonly scans: number;
  readonly ms: number;
  /** a transaction that brought more scans than this is derived in pieces of this many */
  readonly piece: number;
  /**
   * How long derivation gives way to relay work that waits (ms): in a burst the relay goes first and the check-ins
   * follow; under a load that never lets up, the oldest waiting scans are still derived a slice per turn after this.
   */
  readonly maxDeferMs: number;
}

/**
 * A slice's limits. 250 scans or 4 ms: in a gate burst the relay's turn of the `/yjs` transport (8 ms) runs in the
 * same phase of the event loop, and slices of 250 scans alone took up to 29 ms there (a control client's ping waits
 * for both). Pieces of 50: one transaction from a gate back online brings 2,000 scans, derived at once it held every
 * socket for the whole of it; a piece is the most a slice overruns its time by. Pieces cost no extra Store work: the
 * check-ins stream merges queued scans into transactions of up to 2,000.
 *
 * Deferred up to 1 s. With 250 ms, derivation started in the middle of a 5,000-scan burst from nine gates (bench
 * gate-partition, ~0.5 s), and the burst converged in 0.33–0.58× the best peer (2 of 10 runs over the goal of 0.5×);
 * with 1 s, 0.31–0.46× over 27 runs (2026-12-04 and 05). 1 s was first reverted because a gate hold reached a gate
 * late in two CI runs (902 and 1,427 ms, console/test/levers.e2e.test.ts); traced on 2026-12-05, derivation never
 * waited more than 20 ms in that test (its gate scans a few times a second), and what the hold waited for was the
 * Store: PGlite's one session, taken in turn, behind check-in transactions of up to 2,000 scans (100–570 ms each on
 * a loaded machine). Levers now go first there (the Store's `urgentDb`): a hold set as the burst converged reached every
 * gate in 43–289 ms instead of 392–898 (quiet machine), whatever the deferral.
 */
const DEFAULT_LIMITS: SliceLimits = { scans: 250, ms: 4, piece: 50, maxDeferMs: 1000 };

/**
 * Derives the scans that entered a gate doc after the turn that brought them in, in order, a slice per turn of the
 * event loop. Why: a scan's update is relayed to the other gates as soon as it is checked and applied (see the `/yjs`
 * transport); deriving it (timeline, check-in, capacity, analytics) in the same turn made the next frames, the other
 * gates' scans and every socket's ping wait for it (issue #19). While `relayWaits()` says frames wait to be relayed,
 * derivation waits for them (at most {@link SliceLimits.maxDeferMs}).
 * @example const queue = new DerivationQueue((batch) => derive(batch), () => endpointBusy()); observeScans(doc, (b) => queue.push(b));
 */
export class DerivationQueue {
  readonly #waiting: { batch: ScanBatch; at: number }[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly derive: (batch: ScanBatch) => void,
    private readonly relayWaits: () => boolean = () => false,
    private readonly limits: SliceLimits = DEFAULT_LIMITS,
  ) {}

  /**
   * Queues a transaction's scans; they are derived on a later turn, after every batch queued before them. A large
   * transaction is queued as pieces of its scans, in order; values that broke the schema go with the first piece.
   */
  push(batch: ScanBatch): void {
    const at = performance.now();
    const { piece } = this.limits;
    if (batch.entries.length <= piece) this.#waiting.push({ batch, at });
    else for (let from = 0; from < batch.entries.length; from += piece) this.#waiting.push({ batch: { ...batch, entries: batch.entries.slice(from, from + piece), invalid: from === 0 ? batch.invalid : [] }, at });
    this.#scheduled ??= setImmediate(() => this.#slice());
  }

  /** How many batches (or pieces of one) wait (tests, and an unload that must not drop them). */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Derives everything queued, now (before the replica unloads). */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#run(Infinity, Infinity);
  }

  #slice(): void {
    this.#scheduled = undefined;
    const oldest = this.#waiting[0];
    if (oldest && !(this.relayWaits() && performance.now() - oldest.at < this.limits.maxDeferMs)) this.#run(this.limits.scans, performance.now() + this.limits.ms);
    if (this.#waiting.length > 0) this.#scheduled = setImmediate(() => this.#slice());
  }

  /** Derives queued batches in order until `budget` scans or `deadline` is passed (at least one batch). */
  #run(budget: number, deadline: number): void {
    let scans = 0;
    while (this.#waiting.length > 0 && scans < budget && (scans === 0 || performance.now() < deadline)) {
      const { batch } = this.#waiting.shift()!;
      scans += batch.entries.length + batch.invalid.length;
      this.derive(batch);
    }
  }
}
