import type { CheckinMessage } from '@opshub/schema';
import { describe, expect, it } from 'vitest';
import { CheckinsSummary } from '../src/lib/api/event-details.ts';
import { CheckinTally } from '../src/lib/ops/checkin-tally.ts';
import { RateSeries } from '../src/lib/ops/rate-series.ts';
import { SlidingCount } from '../src/lib/ops/sliding-count.ts';

let n = 0;
const scan = (over: Partial<CheckinMessage> = {}): CheckinMessage => ({
  scanId: `s${++n}`,
  code: `T${n}`,
  gate: 'north',
  zone: 'hall',
  device: 'd1',
  dir: 'in',
  at: 1_000_000,
  verdict: 'admitted',
  duplicate: false,
  ...over,
});

const summary = CheckinsSummary.parse({
  registered: 100,
  checkedIn: 10,
  inside: 8,
  duplicates: 1,
  byGate: { north: { scans: 12, admitted: 11, exits: 2, denied: 1, lastScan: 5 } },
  byZone: { hall: { inside: 8, capacity: 500 } },
});

describe('CheckinTally', () => {
  it('counts a check-in only when the hub says it is the ticket\'s first, even for tickets it never saw (3,009 of 3,000)', () => {
    const tally = new CheckinTally();
    tally.adopt(CheckinsSummary.parse({ registered: 3000, checkedIn: 3000, inside: 2990, duplicates: 0 }));
    // After a hub restart: re-entries of tickets whose first entries were before anything this tally saw.
    for (let i = 0; i < 9; i++) tally.apply(scan({ code: `OLD${i}`, first: false }));
    expect(tally.figures.checkedIn).toBe(3000);
    tally.apply(scan({ code: 'NEW', first: true }));
    expect(tally.figures.checkedIn).toBe(3001);
    // An older hub sends no `first`: the tally falls back to what it has seen.
    tally.apply(scan({ code: 'NEW' }));
    expect(tally.figures.checkedIn).toBe(3001);
  });

  it('applies a correction as a restatement of the scan it names: only the duplicate figure moves, once', () => {
    const tally = new CheckinTally();
    tally.adopt(CheckinsSummary.parse({ registered: 100, checkedIn: 0, inside: 0, duplicates: 0 }));
    // The later admission (south) synced first and looked like an entry; the earlier one (north) arrives after.
    const later = scan({ code: 'D1', gate: 'south', device: 'd2', at: 2_000, first: true });
    tally.apply(later);
    tally.apply(scan({ code: 'D1', gate: 'north', at: 1_000, first: false }));
    const before = structuredClone(tally.figures);
    expect(before).toMatchObject({ checkedIn: 1, inside: 1, duplicates: 0 });
    tally.apply({ ...later, duplicate: true, first: false, correction: true });
    expect(tally.figures).toEqual({ ...before, duplicates: 1 });
    // Restated again (two hubs, a replay): nothing moves twice.
    tally.apply({ ...later, duplicate: true, first: false, correction: true });
    expect(tally.figures.duplicates).toBe(1);
    // A late exit between them withdraws it.
    tally.apply({ ...later, duplicate: false, first: false, correction: true });
    expect(tally.figures).toEqual(before);
    // A correction of a scan before anything this tally saw: the summary counted it with the other flag.
    tally.apply(scan({ code: 'OLD', duplicate: true, first: false, correction: true }));
    expect(tally.figures).toEqual({ ...before, duplicates: 1 });
  });

  it('starts from the summary and moves with the summary endpoint definitions', () => {
    const tally = new CheckinTally();
    tally.adopt(summary);
    expect(tally.figures).toMatchObject({ registered: 100, checkedIn: 10, inside: 8, duplicates: 1 });
    expect(tally.figures.byGate.north).toEqual({ scans: 12, admitted: 11, exits: 2, denied: 1, lastScan: 5 });

    tally.apply(scan({ code: 'A' }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9 });
    // Refused scans change no headline figure, only the gate's.
    tally.apply(scan({ code: 'B', verdict: 'invalid' }));
    tally.apply(scan({ code: 'A', verdict: 'already_in' }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9 });
    // Leaving and re-entering: inside moves, checked in does not.
    tally.apply(scan({ code: 'A', dir: 'out' }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 8 });
    tally.apply(scan({ code: 'A' }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9 });
    // A duplicate admission (second `in` from another device) is flagged, never counted as a person.
    tally.apply(scan({ code: 'A', gate: 'south', duplicate: true }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9, duplicates: 2 });
    expect(tally.figures.byGate.north).toMatchObject({ scans: 17, admitted: 13, exits: 3, denied: 3 });
    expect(tally.figures.byGate.south).toMatchObject({ scans: 1, admitted: 1 });
  });

  it('does not count again a ticket it saw admitted in history that the summary already includes', () => {
    const tally = new CheckinTally();
    tally.observe(scan({ code: 'C' }));
    tally.adopt(summary);
    tally.apply(scan({ code: 'C', dir: 'out' }));
    tally.apply(scan({ code: 'C' }));
    expect(tally.figures).toMatchObject({ checkedIn: 10, inside: 8 });
  });

  it('counts a move into another zone as one attendee still inside, and orders a late-synced scan by scan time', () => {
    const tally = new CheckinTally();
    tally.adopt(summary);
    tally.apply(scan({ code: 'M', at: 100 }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9 });
    // Into the VIP lounge while inside the hall: a move, not a duplicate and not a second person.
    tally.apply(scan({ code: 'M', gate: 'vipdoor', zone: 'vip', at: 200 }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9, duplicates: 1 });
    expect(tally.figures.byGate.vipdoor).toMatchObject({ scans: 1, admitted: 1 });
    // An exit scanned at 150 that an offline gate syncs only now: the move at 200 is still the latest scan.
    tally.apply(scan({ code: 'M', dir: 'out', at: 150 }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9 });
    tally.apply(scan({ code: 'M', dir: 'out', at: 300 }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 8 });
  });

  it('counts a ticket whose first admission it holds only from after the summary as new', () => {
    const tally = new CheckinTally();
    tally.adopt(summary);
    tally.apply(scan({ code: 'N', at: 100 }));
    tally.apply(scan({ code: 'N', gate: 'south', at: 101, duplicate: true }));
    expect(tally.figures).toMatchObject({ checkedIn: 11, inside: 9, duplicates: 2 });
  });

  it('reads a summary whose per-gate and per-zone entries are plain numbers', () => {
    const tally = new CheckinTally();
    tally.adopt(CheckinsSummary.parse({ registered: 3, checkedIn: 2, inside: 1, byGate: { north: 2 }, byZone: { hall: 1 } }));
    expect(tally.figures.byGate.north).toMatchObject({ admitted: 2 });
    expect(tally.figures.duplicates).toBe(0);
  });
});

describe('RateSeries', () => {
  const bucketMs = 10_000;
  const windowMs = 60_000;

  it('keeps one bucket per step over the window, appending new ones and shifting old ones off the same arrays', () => {
    const t0 = 1_000_000_000_000;
    const series = new RateSeries({ bucketMs, windowMs }, t0);
    const admitted = series.admitted;
    expect(admitted).toHaveLength(6);
    expect(series.end).toBe(t0);
    expect(series.add(t0 + 1, 'admitted')).toBe(true);
    expect(series.add(t0 - 25_000, 'refused')).toBe(true);
    expect(series.add(t0 - 60_000, 'admitted')).toBe(false); // left the window
    series.advance(t0 + 20_000);
    expect(series.admitted).toBe(admitted); // the chart's dataset array, never replaced
    expect(admitted).toHaveLength(6);
    expect(admitted.at(-3)).toEqual({ x: t0, y: 1 });
    expect(series.refused.find((p) => p.y > 0)?.x).toBe(t0 - 30_000);
  });

  it('opens buckets for a scan slightly ahead of the local clock, and restarts after a long sleep', () => {
    const t0 = 2_000_000_000_000;
    const series = new RateSeries({ bucketMs, windowMs }, t0);
    expect(series.add(t0 + 15_000, 'admitted')).toBe(true);
    expect(series.end).toBe(t0 + 10_000);
    expect(series.add(t0 + 10 * windowMs, 'admitted')).toBe(false);
    series.advance(t0 + 10 * windowMs);
    expect(series.admitted.every((p) => p.y === 0)).toBe(true);
    expect(series.end).toBe(t0 + 10 * windowMs);
  });
});

describe('SlidingCount', () => {
  it('counts events of the last window, whatever order they arrive in', () => {
    const count = new SlidingCount(60_000);
    for (const at of [10_000, 70_000, 50_000, 65_000]) count.add(at);
    expect(count.count(70_000)).toBe(3);
    expect(count.count(129_999)).toBe(1);
    expect(count.count(130_000)).toBe(0);
    expect(count.count(200_000)).toBe(0);
  });
});
