/**
 * A latency histogram with logarithmic buckets (2 % wide): constant memory, O(1) record, and exact merging across
 * processes, so client workers can each record millions of samples and the driver sums their counts.
 *
 * @example
 * const h = new LatencyHistogram();
 * h.record(3.2); h.record(41);
 * h.percentile(0.99); // ≈ 41 (within 2 %)
 */
export class LatencyHistogram {
  /** Values below this (ms) share bucket 0. */
  static readonly floorMs = 0.01;
  static readonly growth = 1.02;
  /** Enough buckets to reach past ten minutes. */
  static readonly size = 1024;
  static readonly #logGrowth = Math.log(LatencyHistogram.growth);

  readonly counts: Float64Array;
  count = 0;
  max = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(LatencyHistogram.size);
    if (counts) {
      this.counts.set(counts);
      for (let i = 0; i < this.counts.length; i++) {
        const c = this.counts[i]!;
        if (c > 0) {
          this.count += c;
          this.max = Math.max(this.max, LatencyHistogram.upperBound(i));
        }
      }
    }
  }

  /** Records one latency in milliseconds (negative clock skew counts as zero). */
  record(ms: number): void {
    let i = ms <= LatencyHistogram.floorMs ? 0 : 1 + Math.floor(Math.log(ms / LatencyHistogram.floorMs) / LatencyHistogram.#logGrowth);
    if (i >= LatencyHistogram.size) i = LatencyHistogram.size - 1;
    this.counts[i]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** Adds another histogram's counts to this one. */
  merge(other: { readonly counts: ArrayLike<number> }): void {
    for (let i = 0; i < LatencyHistogram.size; i++) {
      const c = other.counts[i] ?? 0;
      if (c > 0) {
        this.counts[i]! += c;
        this.count += c;
        this.max = Math.max(this.max, LatencyHistogram.upperBound(i));
      }
    }
  }

  /** The latency (ms) at quantile `q` (0..1): the upper bound of the bucket holding it; NaN when empty. */
  percentile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < LatencyHistogram.size; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return LatencyHistogram.upperBound(i);
    }
    return this.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }

  static upperBound(bucket: number): number {
    return LatencyHistogram.floorMs * LatencyHistogram.growth ** bucket;
  }
}
