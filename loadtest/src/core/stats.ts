/**
 * The median of the finite numbers in `values` (NaN when there are none): every figure the bench reports is the
 * median of its repeats, so one unlucky repeat (a GC pause, a noisy neighbour) does not decide it.
 * @example median([3, 1, 2]) // 2
 */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/**
 * Per-key medians of several runs of the same measurement.
 * @example medianOf([{ p99: 3 }, { p99: 5 }, { p99: 4 }]) // { p99: 4 }
 */
export function medianOf<K extends string>(runs: readonly Readonly<Record<K, number>>[]): Record<K, number> {
  const keys = new Set(runs.flatMap((r) => Object.keys(r) as K[]));
  const out = {} as Record<K, number>;
  for (const key of keys) out[key] = median(runs.map((r) => r[key]));
  return out;
}

/** Rounds for display and JSON: 3 significant digits below 100, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}
