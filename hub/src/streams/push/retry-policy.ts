/** How the send queue paces itself: tries, leases, and how outcomes are batched into the Store. */
export const sendLimits = Object.freeze({
  /** requests per delivery at most (the first and four retries) */
  attempts: 5,
  /**
   * How long a claim keeps a delivery from other hubs. Well above a request's timeout (10 s), so only a hub that died
   * mid-send lets its claims run out; then another hub sends them.
   */
  leaseMs: 60_000,
  /** outcomes written in one transaction at most, and how long the first of them waits for company */
  recordBatch: 200,
  recordAfterMs: 50,
  recordRetryMs: 1_000,
  /** a service's Retry-After is followed up to this long; longer, and the push is out of time anyway */
  maxRetryAfterMs: 10 * 60_000,
});

/**
 * When to try a delivery again after a 429, a 5xx or a network failure: what the push service asked for
 * (`Retry-After`), else exponential backoff from 1 s (2, 4, 8 s …, at most a minute) with equal jitter, so that
 * thousands of deliveries refused at once by an overloaded service do not come back at once.
 * @example retryDelayMs(1) // 500–1000
 * @example retryDelayMs(3, 30_000) // 30000
 */
export function retryDelayMs(attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 0), sendLimits.maxRetryAfterMs);
  const ceiling = Math.min(1000 * 2 ** Math.max(0, attempt - 1), 60_000);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
