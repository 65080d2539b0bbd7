/**
 * A token bucket per connection: `burst` frames at once, refilled at `perSecond`.
 * Plain numbers on the connection object, no timers: refilled lazily when a frame arrives.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now = performance.now()): boolean {
    // A frame dated before the bucket's last refill (read by a socket worker before the main thread opened the
    // bucket) refills nothing: charged as negative refill it drained a fast client's first burst (issue #19).
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
