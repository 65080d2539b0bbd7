import { describe, expect, it } from 'vitest';
import { keys, numberAfter, readMsg } from '../src/clients/frame-fields.ts';
import { Recorder } from '../src/clients/recorder.ts';
import { LatencyHistogram } from '../src/core/histogram.ts';
import { median } from '../src/core/stats.ts';
import { nowMs } from '../src/core/payload.ts';

/** The measuring instruments themselves: if these drift, every figure the bench prints is wrong. */
describe('frame fields', () => {
  const frame = (data: unknown, seq = 42) => Buffer.from(`{"op":"msg","topic":"event/b/checkins","seq":${seq},"ts":1763683200123,"data":${JSON.stringify(data)}}`);

  it('reads seq, t and n of a bench frame exactly as JSON.parse would', () => {
    for (const t of [1763683200123.4567, 1763683200123, 0.5]) {
      const f = frame({ t, n: 7, p: 'xxxx' });
      const parsed = JSON.parse(f.toString()) as { seq: number; data: { t: number; n: number } };
      expect({ ...readMsg(f) }).toEqual({ seq: parsed.seq, t: parsed.data.t, n: parsed.data.n });
    }
  });

  it('answers NaN for a frame without the bench payload, and for numbers it does not read', () => {
    const other = readMsg(frame({ text: 'Doors open' }));
    expect(other.seq).toBe(42);
    expect(other.t).toBeNaN();
    expect(other.n).toBeNaN();
    expect(numberAfter(Buffer.from('{"t":1e+21}'), keys.t)).toBeNaN();
    expect(numberAfter(Buffer.from('{"t":-3.25}'), keys.t)).toBe(-3.25);
  });
});

describe('LatencyHistogram', () => {
  it('reports percentiles within its 2 % buckets, and merges exactly', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) (i % 2 ? a : b).record(i / 10); // 0.1 … 100 ms
    a.merge(b);
    expect(a.count).toBe(1000);
    for (const [q, exact] of [[0.5, 50], [0.99, 99], [0.999, 99.9]] as const) {
      expect(a.percentile(q)).toBeGreaterThanOrEqual(exact);
      expect(a.percentile(q)).toBeLessThanOrEqual(exact * 1.02);
    }
    expect(new LatencyHistogram(a.counts).percentile(0.5)).toBe(a.percentile(0.5));
    expect(new LatencyHistogram().percentile(0.5)).toBeNaN();
  });
});

describe('Recorder', () => {
  it('counts a jump in n as loss and a repeat as a duplicate, per connection', () => {
    const recorder = new Recorder();
    const group = recorder.group('all');
    const conn = { lastN: 0, gaps: 0, duplicates: 0 };
    const t = nowMs();
    for (const n of [5, 6, 9, 9, 10, 8, 11]) recorder.message(group, conn, n, t);
    expect(conn).toEqual({ lastN: 11, gaps: 2, duplicates: 2 });
    const report = recorder.report(1).groups.all!;
    expect(report).toMatchObject({ received: 7, gaps: 2, duplicates: 2 });
  });
});

describe('median', () => {
  it('ignores what is not a finite number', () => {
    expect(median([3, Number.NaN, 1, 2])).toBe(2);
    expect(median([4, 1])).toBe(2.5);
    expect(median([Number.NaN])).toBeNaN();
  });
});
