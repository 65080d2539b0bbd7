import { describe, expect, it } from 'vitest';
import type { ScanRecord } from '../src/gate-doc.ts';
import { AdmissionTimeline } from '../src/timeline.ts';
import { seeded, shuffled } from './rng.ts';

const T0 = 1_767_261_600_000;
let n = 0;
function s(code: string, device: string, dir: 'in' | 'out', minute: number, verdict: ScanRecord['verdict'] = 'admitted'): ScanRecord {
  n++;
  return { scanId: `s-${String(n).padStart(6, '0')}`, code, gate: `gate-${device}`, device, dir, at: T0 + minute * 60_000, verdict };
}

function snapshot(timeline: AdmissionTimeline, codes: string[]): unknown {
  return { counts: timeline.counts(), duplicates: timeline.duplicates(), states: codes.map((c) => timeline.state(c) ?? null) };
}

/** A day of random scans over a few devices, including exits, denials and offline double admissions. */
function randomDay(random: () => number, tickets: number, scans: number): ScanRecord[] {
  const devices = ['a', 'b', 'c', 'd'];
  const out: ScanRecord[] = [];
  for (let i = 0; i < scans; i++) {
    const code = `T-${Math.floor(random() * tickets)}`;
    const device = devices[Math.floor(random() * devices.length)]!;
    const dir = random() < 0.35 ? 'out' : 'in';
    const verdict = random() < 0.1 ? 'already_in' : 'admitted';
    // Coarse minutes so equal `at` values happen and the scanId tie-break is exercised.
    out.push(s(code, device, dir, Math.floor(random() * 120), verdict));
  }
  return out;
}

describe('AdmissionTimeline', () => {
  it('is deterministic whatever order the scans arrive in', () => {
    const random = seeded(7);
    const day = randomDay(random, 60, 600);
    const codes = Array.from({ length: 60 }, (_, i) => `T-${i}`);
    const reference = new AdmissionTimeline();
    reference.addMany(day);
    const expected = snapshot(reference, codes);
    expect(reference.counts().duplicates).toBeGreaterThan(0);
    for (let round = 0; round < 25; round++) {
      const timeline = new AdmissionTimeline();
      // One at a time, shuffled, with some scans delivered twice (a relay that repeats itself).
      const order = shuffled(day, random);
      for (const scan of order) {
        timeline.add(scan);
        if (random() < 0.05) timeline.add(scan);
      }
      expect(snapshot(timeline, codes)).toEqual(expected);
    }
  });

  it('flags a second admission from another device exactly once, naming both gates and times', () => {
    const timeline = new AdmissionTimeline();
    const first = s('T-1', 'a', 'in', 1);
    const second = s('T-1', 'b', 'in', 2);
    expect(timeline.add(first).duplicatesAdded).toEqual([]);
    const change = timeline.add(second);
    expect(change.duplicatesAdded).toEqual([
      {
        id: `${first.scanId}>${second.scanId}`,
        code: 'T-1',
        first: { scanId: first.scanId, gate: 'gate-a', device: 'a', at: first.at },
        second: { scanId: second.scanId, gate: 'gate-b', device: 'b', at: second.at },
      },
    ]);
    // Seen again (another relay path), plus unrelated scans: no second alert.
    expect(timeline.add(second).duplicatesAdded).toEqual([]);
    expect(timeline.add(first).duplicatesAdded).toEqual([]);
    expect(timeline.add(s('T-2', 'a', 'in', 3)).duplicatesAdded).toEqual([]);
    expect(timeline.counts()).toMatchObject({ inside: 2, duplicates: 1 });
    expect(timeline.state('T-1')).toMatchObject({ inside: true, stays: 1, entry: { device: 'a' } });
  });

  it('does not flag a re-scan on the same device, denied scans, or re-entry after an exit', () => {
    const timeline = new AdmissionTimeline();
    timeline.addMany([
      s('T-1', 'a', 'in', 1),
      s('T-1', 'a', 'in', 2),
      s('T-1', 'b', 'in', 3, 'already_in'),
      s('T-1', 'b', 'out', 4),
      s('T-1', 'b', 'in', 5),
    ]);
    expect(timeline.duplicates()).toEqual([]);
    expect(timeline.state('T-1')).toMatchObject({ inside: true, stays: 2, entry: { device: 'b' }, scans: 5 });
  });

  it('handles a late scan with an earlier time: an exit in between removes the duplicate', () => {
    const timeline = new AdmissionTimeline();
    timeline.add(s('T-1', 'a', 'in', 1));
    const late = s('T-1', 'c', 'out', 2);
    const added = timeline.add(s('T-1', 'b', 'in', 3)).duplicatesAdded;
    expect(added).toHaveLength(1);
    const change = timeline.add(late);
    expect(change.duplicatesRemoved).toEqual(added);
    expect(timeline.duplicates()).toEqual([]);
    expect(timeline.state('T-1')).toMatchObject({ inside: true, stays: 2, entry: { device: 'b' } });
  });

  it('handles a late admission before the others: it becomes the first of the pair', () => {
    const timeline = new AdmissionTimeline();
    const early = s('T-1', 'z', 'in', 0);
    const a = s('T-1', 'a', 'in', 5);
    timeline.add(a);
    const change = timeline.add(early);
    expect(change.duplicatesAdded.map((d) => [d.first.device, d.second.device])).toEqual([['z', 'a']]);
    expect(timeline.state('T-1')?.entry?.scanId).toBe(early.scanId);
  });

  it('orders equal times by scan id and resolves a reused scan id the same way everywhere', () => {
    const x: ScanRecord = { scanId: 'same-id-0001', code: 'T-1', gate: 'g', device: 'a', dir: 'in', at: T0, verdict: 'admitted' };
    const y: ScanRecord = { ...x, code: 'T-2', device: 'b' };
    const one = new AdmissionTimeline();
    one.add(x);
    one.add(y);
    const two = new AdmissionTimeline();
    two.add(y);
    two.add(x);
    expect(one.counts()).toEqual(two.counts());
    expect([one.state('T-1'), one.state('T-2')]).toEqual([two.state('T-1'), two.state('T-2')]);
    expect(one.counts().scans).toBe(1);
  });

  it('prints the cost of 150,000 incremental adds', () => {
    const random = seeded(11);
    const day = randomDay(random, 100_000, 150_000);
    const timeline = new AdmissionTimeline();
    const started = performance.now();
    for (const scan of day) timeline.add(scan);
    const ms = performance.now() - started;
    console.log(`timeline: 150,000 incremental adds in ${ms.toFixed(0)} ms (${((ms * 1000) / 150_000).toFixed(1)} µs/scan)`);
    expect(timeline.counts().scans).toBe(150_000);
  });
});
