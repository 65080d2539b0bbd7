/** One bucket of the check-in rate chart: `x` the bucket's start (ms), `y` scans in it. */
export interface RatePoint {
  x: number;
  y: number;
}

/**
 * Check-ins per time bucket over a sliding window, in arrays a Chart.js dataset can use directly: new buckets are
 * pushed at the end and expired ones shifted off the front, so the chart appends instead of rebuilding.
 * A late scan (a gate that was offline) lands in its own bucket if that is still on screen.
 *
 * @example
 * const series = new RateSeries({ bucketMs: 10_000, windowMs: 600_000 }, Date.now());
 * chart.data.datasets[0].data = series.admitted; series.add(scan.at, 'admitted'); series.advance(Date.now()); chart.update('none');
 */
export class RateSeries {
  readonly admitted: RatePoint[] = [];
  readonly refused: RatePoint[] = [];
  readonly bucketMs: number;
  readonly windowMs: number;

  constructor(options: { bucketMs: number; windowMs: number }, now: number) {
    this.bucketMs = options.bucketMs;
    this.windowMs = options.windowMs;
    this.advance(now);
  }

  /** The start of the oldest bucket on screen. */
  get start(): number {
    return this.admitted[0]?.x ?? 0;
  }

  /** The start of the newest bucket. */
  get end(): number {
    return this.admitted[this.admitted.length - 1]?.x ?? 0;
  }

  /** Counts one scan; false when it is older than the window (or too far in the future to be a real clock). */
  add(at: number, kind: 'admitted' | 'refused'): boolean {
    const bucket = this.#bucketOf(at);
    if (this.admitted.length === 0 || bucket < this.start) return false;
    if (bucket > this.end) {
      // A scan from slightly ahead of our clock (gate clocks drift): open the buckets up to it, bounded.
      if (bucket - this.end > this.windowMs) return false;
      this.advance(bucket);
    }
    const index = (bucket - this.start) / this.bucketMs;
    const point = (kind === 'admitted' ? this.admitted : this.refused)[index];
    if (!point) return false;
    point.y++;
    return true;
  }

  /** Opens buckets up to `now` and drops those that left the window. Returns whether anything moved. */
  advance(now: number): boolean {
    const last = this.#bucketOf(now);
    const first = last - this.windowMs + this.bucketMs;
    let moved = false;
    if (this.admitted.length === 0 || this.end < first - this.bucketMs) {
      // Empty, or asleep longer than the window: start afresh (still the same arrays, so the chart keeps them).
      this.admitted.length = 0;
      this.refused.length = 0;
      for (let x = first; x <= last; x += this.bucketMs) {
        this.admitted.push({ x, y: 0 });
        this.refused.push({ x, y: 0 });
      }
      return true;
    }
    for (let x = this.end + this.bucketMs; x <= last; x += this.bucketMs) {
      this.admitted.push({ x, y: 0 });
      this.refused.push({ x, y: 0 });
      moved = true;
    }
    while (this.admitted.length > 0 && this.admitted[0]!.x < first) {
      this.admitted.shift();
      this.refused.shift();
      moved = true;
    }
    return moved;
  }

  #bucketOf(at: number): number {
    return Math.floor(at / this.bucketMs) * this.bucketMs;
  }
}
