/**
 * How many events happened in the last `windowMs`, for "scans per minute" overall and per gate.
 * Timestamps may arrive out of order (a gate that was offline syncs late); old ones are ignored.
 * @example const perMinute = new SlidingCount(60_000); perMinute.add(scan.at); perMinute.count(Date.now())
 */
export class SlidingCount {
  readonly #times: number[] = [];
  #sorted = true;

  constructor(readonly windowMs = 60_000) {}

  add(at: number): void {
    const last = this.#times[this.#times.length - 1];
    if (last !== undefined && at < last) this.#sorted = false;
    this.#times.push(at);
  }

  /** Events with `now - windowMs < at <= now`. */
  count(now: number): number {
    if (!this.#sorted) {
      this.#times.sort((a, b) => a - b);
      this.#sorted = true;
    }
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.#times.length && this.#times[drop]! <= from) drop++;
    if (drop > 0) this.#times.splice(0, drop);
    let n = 0;
    for (const t of this.#times) if (t <= now) n++;
    return n;
  }
}
