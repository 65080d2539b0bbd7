import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ScanBatch, ScanEntry } from '@opshub/replica';
import { DerivationQueue } from '../../src/replicas/derivation-queue.ts';

/**
 * The derivation queue hands a gate doc's new scans to the streams a slice per turn of the event loop (issue #19):
 * a large transaction (a gate back online with 2,000 scans) is derived in pieces, in order, each scan once, and a
 * slice stops at its time budget so the relay and every socket's ping get the loop in between.
 */
const entry = (i: number): ScanEntry => ({
  scan: { scanId: `s-${String(i).padStart(5, '0')}`, code: `T-${i}`, gate: 'g1', device: 'd1', dir: 'in', at: Date.UTC(2026, 4, 1, 8) + i, verdict: 'admitted' },
  client: 1,
  clock: i,
});
const batch = (from: number, count: number, invalid: unknown[] = []): ScanBatch => ({ entries: Array.from({ length: count }, (_, i) => entry(from + i)), invalid, origin: 'socket' });

/** Turns of the event loop until the queue is empty (bounded, so a queue that never drains fails the test). */
async function drain(queue: DerivationQueue): Promise<number> {
  let turns = 0;
  while (queue.pending > 0 && turns < 10_000) {
    await nextTurn();
    turns++;
  }
  return turns;
}

describe('DerivationQueue', () => {
  it('derives a transaction of 2,000 scans in pieces, in order, each scan once, the invalid values with the first piece', async () => {
    const derived: ScanBatch[] = [];
    const queue = new DerivationQueue((b) => derived.push(b), () => false, { scans: 250, ms: 1_000, piece: 50, maxDeferMs: 1000 });
    queue.push(batch(0, 2000, ['broken']));
    queue.push(batch(2000, 3));
    expect(derived).toHaveLength(0); // never in the turn that brought them
    await drain(queue);

    expect(derived.every((b) => b.entries.length <= 50)).toBe(true);
    expect(derived.flatMap((b) => b.entries.map((e) => e.scan.scanId))).toEqual(Array.from({ length: 2003 }, (_, i) => `s-${String(i).padStart(5, '0')}`));
    expect(derived.flatMap((b) => b.invalid)).toEqual(['broken']);
    expect(derived[0]!.invalid).toEqual(['broken']);
    expect(derived.at(-1)!.entries).toHaveLength(3); // a small transaction stays whole
  });

  it('ends a slice at its scan budget and at its time budget, deriving at least one piece per turn', async () => {
    const perTurn: number[] = [];
    let current = 0;
    const byScans = new DerivationQueue(() => current++, () => false, { scans: 100, ms: 1_000, piece: 50, maxDeferMs: 1000 });
    byScans.push(batch(0, 1000));
    while (byScans.pending > 0) {
      current = 0;
      await nextTurn();
      perTurn.push(current);
    }
    // 1,000 scans, 100 a turn: two pieces of 50 per turn
    expect(perTurn.filter((n) => n > 0)).toEqual(Array(10).fill(2));

    // Each piece takes 3 ms and a slice has 4 ms: one piece, then the deadline check stops at the second at most.
    const slow = new DerivationQueue(
      () => {
        const until = performance.now() + 3;
        while (performance.now() < until);
      },
      () => false,
      { scans: 10_000, ms: 4, piece: 50, maxDeferMs: 1000 },
    );
    slow.push(batch(0, 1000));
    await nextTurn();
    const left = slow.pending;
    expect(left).toBeGreaterThanOrEqual(18); // 20 pieces, at most 2 derived in the first slice
    expect(left).toBeLessThan(20); // and at least one
    await drain(slow);
    expect(slow.pending).toBe(0);
  });

  it('waits while relay work waits, and flush derives everything at once', async () => {
    const derived: string[] = [];
    let relayBusy = true;
    const queue = new DerivationQueue((b) => derived.push(...b.entries.map((e) => e.scan.scanId)), () => relayBusy);
    queue.push(batch(0, 10));
    for (let i = 0; i < 20; i++) await nextTurn();
    expect(derived).toHaveLength(0);
    relayBusy = false;
    await drain(queue);
    expect(derived).toHaveLength(10);

    relayBusy = true;
    queue.push(batch(10, 600));
    queue.flush();
    expect(derived).toHaveLength(610);
    expect(queue.pending).toBe(0);
  });

  it('derives under relay work that never lets up once the oldest scans waited maxDeferMs, a slice per turn', async () => {
    const derived: string[] = [];
    const queue = new DerivationQueue((b) => derived.push(...b.entries.map((e) => e.scan.scanId)), () => true, { scans: 250, ms: 4, piece: 50, maxDeferMs: 60 });
    const pushedAt = performance.now();
    queue.push(batch(0, 10));
    while (derived.length === 0 && performance.now() - pushedAt < 5000) await nextTurn();
    const waited = performance.now() - pushedAt;
    expect(derived).toHaveLength(10);
    expect(waited).toBeGreaterThanOrEqual(60);
    // With the relay still busy, a scan pushed now waits its own maxDeferMs, not the older scan's.
    queue.push(batch(10, 1));
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(derived).toHaveLength(10);
    const again = performance.now();
    while (derived.length === 10 && performance.now() - again < 5000) await nextTurn();
    expect(derived).toHaveLength(11);
    expect(performance.now() - again).toBeGreaterThanOrEqual(40);
  });
});
