import type { ScanBatch } from '@opshub/replica';

/**
 * Scans indexed into the timeline and handed to the streams per turn of the event loop (at least one batch): 250 keep
 * a slice to a few ms, so a control client's ping is answered between slices of a burst of 5,000.
 */
const SCANS_PER_TURN = 250;
/**
 * How long derivation gives way to relay work that waits (ms): in a burst the relay goes first and the check-ins
 * follow; under a load that never lets up, the oldest waiting scans are still derived a slice per turn after this.
 */
const MAX_DEFER_MS = 250;

/**
 * Derives the scans that entered a gate doc after the turn that brought them in, in order, a slice per turn of the
 * event loop. Why: a scan's update is relayed to the other gates as soon as it is checked and applied (see the `/yjs`
 * transport); deriving it (timeline, check-in, capacity, analytics) in the same turn made the next frames, the other
 * gates' scans and every socket's ping wait for it (issue #19). While `relayWaits()` says frames wait to be relayed,
 * derivation waits for them (at most {@link MAX_DEFER_MS}).
 * @example const queue = new DerivationQueue((batch) => derive(batch), () => endpointBusy()); observeScans(doc, (b) => queue.push(b));
 */
export class DerivationQueue {
  readonly #waiting: { batch: ScanBatch; at: number }[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly derive: (batch: ScanBatch) => void,
    private readonly relayWaits: () => boolean = () => false,
  ) {}

  /** Queues a transaction's scans; they are derived on a later turn, after every batch queued before them. */
  push(batch: ScanBatch): void {
    this.#waiting.push({ batch, at: performance.now() });
    this.#scheduled ??= setImmediate(() => this.#slice());
  }

  /** How many batches wait (tests, and an unload that must not drop them). */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Derives everything queued, now (before the replica unloads). */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#run(Infinity);
  }

  #slice(): void {
    this.#scheduled = undefined;
    const oldest = this.#waiting[0];
    if (oldest && !(this.relayWaits() && performance.now() - oldest.at < MAX_DEFER_MS)) this.#run(SCANS_PER_TURN);
    if (this.#waiting.length > 0) this.#scheduled = setImmediate(() => this.#slice());
  }

  #run(budget: number): void {
    let scans = 0;
    while (this.#waiting.length > 0 && scans < budget) {
      const { batch } = this.#waiting.shift()!;
      scans += batch.entries.length + batch.invalid.length;
      this.derive(batch);
    }
  }
}
