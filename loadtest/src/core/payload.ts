/**
 * What every scenario publishes, to opshub and to its baseline alike: `{"t":…,"n":…,"p":"…"}`.
 *
 * - `t`: the message's scheduled publish time (ms since the epoch, sub-ms precision). Scheduled, not actual: a
 *   server that falls behind its publish schedule cannot hide it (no coordinated omission).
 * - `n`: the channel's message counter, 1, 2, 3…: clients check it for gaps (loss) and repeats (duplicates).
 * - `p`: padding up to the configured payload size.
 * `t` and `n` come first so clients find them with a byte search instead of parsing every frame.
 */
export interface BenchPayload {
  readonly t: number;
  readonly n: number;
  readonly p: string;
}

/** Wall-clock ms with sub-ms precision; comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Padding that brings the payload's JSON to about `bytes` bytes.
 * @example JSON.stringify({ t: nowMs(), n: 1, p: padding(128) }).length // ≈ 128
 */
export function padding(bytes: number): string {
  const envelope = JSON.stringify({ t: nowMs(), n: 1_000_000, p: '' }).length;
  return 'x'.repeat(Math.max(0, bytes - envelope));
}

/** The default payload size: a check-in or capacity update is about this big. */
export const defaultPayloadBytes = 128;
