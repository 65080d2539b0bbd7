import type { ScanBatch } from '@opshub/replica';

/**
 * Scans indexed into the timeline and handed to the streams per turn of the event loop (at least one batch). A
 * thousand keeps a turn to a few ms: the streams' synchronous work per scan (a check-in row, a message) is small but
 * adds up over a burst of 5,000.
 */
const SCANS_PER_TURN = 1_000;

/**
 * Derives the scans that entered a gate doc after the turn that brought them in, in order, a slice per turn of the
 * event loop. Why: a scan's update is relayed to the other gates as soon as it is checked and applied (see the `/yjs`
 * transport); deriving it (timeline, check-in, capacity, analytics) in the same turn made the next frames, the other
 * gates' scans and every socket's ping wait for it (issue #19). A burst of 5,000 scans is derived in slices with the
 * sockets served between them.
 * @example const queue = new DerivationQueue((batch) => derive(batch)); observeScans(doc, (b) => queue.push(b));
 */
export class DerivationQueue {
  readonly #waiting: ScanBatch[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly derive: (batch: ScanBatch) => void) {}

  /** Queues a transaction's scans; they are derived on a later turn, after every batch queued before them. */
  push(batch: ScanBatch): void {
    this.#waiting.push(batch);
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
    this.#run(SCANS_PER_TURN);
    if (this.#waiting.length > 0) this.#scheduled = setImmediate(() => this.#slice());
  }

  #run(budget: number): void {
    let scans = 0;
    while (this.#waiting.length > 0 && scans < budget) {
      const batch = this.#waiting.shift()!;
      scans += batch.entries.length + batch.invalid.length;
      this.derive(batch);
    }
  }
}
