import { ClientError } from '../../errors.ts';

/** Most columns a heatmap or series may have: a day at one minute. */
export const maxColumns = 1440;

/** A time range cut into columns of `bucketMs`, aligned to multiples of it since the epoch (UTC). */
export interface Columns {
  readonly bucketMs: number;
  /** start of the first column, inclusive */
  readonly from: number;
  /** end of the last column, exclusive */
  readonly to: number;
  readonly starts: readonly number[];
}

/**
 * The columns for a request: `from`/`to` as asked (widened to whole buckets), or, when absent, the extent of the data
 * (`extent`; empty when there is none), keeping the latest {@link maxColumns} buckets of it.
 * @throws {ClientError} `invalid` when an explicit range is inverted or wider than {@link maxColumns} buckets
 * @example columnsFor(300_000, { from: 0, to: 900_000 }) // { from: 0, to: 900000, starts: [0, 300000, 600000] }
 */
export function columnsFor(bucketMs: number, asked: { from?: number | undefined; to?: number | undefined }, extent?: { min: number; max: number } | null): Columns {
  const down = (ms: number) => Math.floor(ms / bucketMs) * bucketMs;
  const up = (ms: number) => Math.ceil(ms / bucketMs) * bucketMs;
  let from: number;
  let to: number;
  if (asked.from !== undefined || asked.to !== undefined) {
    to = up(asked.to ?? (extent ? extent.max + 1 : Date.now()));
    from = down(asked.from ?? (extent ? extent.min : to - bucketMs));
    if (from >= to) throw new ClientError('invalid', '`from` must be before `to`');
    if ((to - from) / bucketMs > maxColumns) throw new ClientError('invalid', `at most ${maxColumns} columns: narrow the range or use a larger bucket`);
  } else if (extent) {
    to = up(extent.max + 1);
    from = Math.max(down(extent.min), to - maxColumns * bucketMs);
  } else {
    return { bucketMs, from: 0, to: 0, starts: [] };
  }
  const starts: number[] = [];
  for (let t = from; t < to; t += bucketMs) starts.push(t);
  return { bucketMs, from, to, starts };
}

/** A rows × columns matrix of zeros. */
export function zeros(rows: number, columns: number): number[][] {
  return Array.from({ length: rows }, () => new Array<number>(columns).fill(0));
}
