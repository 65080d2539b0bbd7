/**
 * Capped exponential backoff with jitter: half the delay is fixed, half random, so several hubs that lost the same
 * server do not retry in step, and no retry waits longer than `maxMs`.
 *
 * @example
 * retryDelay(1, { baseMs: 100, maxMs: 30_000 }); // 50..100
 * retryDelay(12, { baseMs: 100, maxMs: 30_000 }); // 15,000..30,000
 */
export function retryDelay(attempt: number, options: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}
