import { describe, expect, it } from 'vitest';
import type { DuplicateAdmission, ScanRecord } from '@opshub/replica';
import { nextBatch, type Work } from '../../src/streams/checkins/checkins-stream.ts';

let n = 0;
const scan = (): ScanRecord => ({ scanId: `scan-${String(++n).padStart(6, '0')}`, code: 'T-1', gate: 'north', device: 'dev', dir: 'in', at: n, verdict: 'admitted' });
const scans = (count: number) => Array.from({ length: count }, scan);
const duplicate = (): DuplicateAdmission => ({ first: scan(), second: scan() }) as unknown as DuplicateAdmission;
const work = (over: Partial<Work> = {}): Work => ({ scans: scans(1), added: [], removed: [], ...over });

describe('check-in batches', () => {
  it('merges queued works into one transaction, in order, adds included', () => {
    const queue = [work(), work({ added: [duplicate()] }), work({ scans: scans(3) })];
    const { work: merged, taken } = nextBatch(queue);
    expect(taken).toBe(3);
    expect(merged.scans.map((s) => s.scanId)).toEqual(queue.flatMap((w) => w.scans.map((s) => s.scanId)));
    expect(merged.added).toEqual(queue[1]!.added);
    expect(queue[0]!.scans).toHaveLength(1); // the queue itself is left alone until the batch commits
  });

  it('keeps a work that withdraws alerts, and a reconciliation, on its own', () => {
    const withdraw = work({ removed: [duplicate()] });
    expect(nextBatch([withdraw, work()]).taken).toBe(1);
    expect(nextBatch([work(), withdraw, work()]).taken).toBe(1);
    expect(nextBatch([work({ scans: [], reconcile: true }), work()]).taken).toBe(1);
    expect(nextBatch([work(), work({ scans: [], reconcile: true })]).taken).toBe(1);
  });

  it('stops at 2,000 scans, but never splits one work', () => {
    expect(nextBatch([work({ scans: scans(1500) }), work({ scans: scans(400) }), work({ scans: scans(200) })]).taken).toBe(2);
    expect(nextBatch([work({ scans: scans(2500) }), work()]).taken).toBe(1);
  });
});
