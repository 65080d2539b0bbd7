import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/transport/rate-limiter.ts';

describe('TokenBucket', () => {
  it('gives a full burst, then refills at its rate', () => {
    const bucket = new TokenBucket(10, 3, 1_000);
    expect([bucket.take(1_000), bucket.take(1_000), bucket.take(1_000), bucket.take(1_000)]).toEqual([true, true, true, false]);
    expect(bucket.take(1_100)).toBe(true); // 100 ms at 10/s is one token
    expect(bucket.take(1_100)).toBe(false);
  });

  it('charges nothing for a frame dated before its last refill (a socket worker read it before the bucket opened)', () => {
    const bucket = new TokenBucket(1_000_000, 5, 10_000);
    // 5 ms earlier at a million per second would be 5,000 tokens of negative refill: the whole burst lost.
    const taken = [9_995, 9_995, 9_996, 9_997, 9_998].map((at) => bucket.take(at));
    expect(taken).toEqual([true, true, true, true, true]);
    expect(bucket.take(10_000)).toBe(false);
    expect(bucket.take(10_001)).toBe(true);
  });
});
