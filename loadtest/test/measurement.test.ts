import { describe, expect, it } from 'vitest';
import { keys, numberAfter, readMsg } from '../src/clients/frame-fields.ts';
import { Recorder } from '../src/clients/recorder.ts';
import { LatencyHistogram } from '../src/core/histogram.ts';
import { median } from '../src/core/stats.ts';
import { nowMs } from '../src/core/payload.ts';
import { medianStepSlope } from '../src/scenarios/idle-memory.ts';

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

  it('reads a frame in place inside a larger buffer, never past its end, whatever the layout of the frame before', () => {
    const topics = ['event/b/checkins', 'event/b/chat/r10', 'event/bench-longer-event/chat/r1'];
    const frames = topics.map((topic, i) => Buffer.from(`{"op":"msg","topic":"${topic}","seq":${i + 1},"ts":17636832001${i},"data":{"t":${i}.25,"n":${i + 7},"p":"x"}}`));
    const bare = Buffer.from('{"op":"msg","topic":"event/b/checkins","seq":9,"ts":1,"data":{"text":"no bench payload"}}');
    // the frame without a payload sits right before one with a payload: its fields must not be read from there
    const buf = Buffer.concat([Buffer.from('garbage'), frames[0]!, bare, frames[1]!, frames[2]!, frames[0]!]);
    let at = 7;
    const read = (frame: Buffer) => {
      const fields = { ...readMsg(buf, at, at + frame.length) };
      at += frame.length;
      return fields;
    };
    expect(read(frames[0]!)).toEqual({ seq: 1, t: 0.25, n: 7 });
    expect(read(bare)).toEqual({ seq: 9, t: Number.NaN, n: Number.NaN });
    expect(read(frames[1]!)).toEqual({ seq: 2, t: 1.25, n: 8 });
    expect(read(frames[2]!)).toEqual({ seq: 3, t: 2.25, n: 9 });
    expect(read(frames[0]!)).toEqual({ seq: 1, t: 0.25, n: 7 });
    expect({ ...readMsg(Buffer.from('{"op":"msg","topic":"event/b/checkins"}')) }).toEqual({ seq: Number.NaN, t: Number.NaN, n: Number.NaN });
    // fields laid out otherwise (no `ts`, extra keys) are still found, by search
    expect({ ...readMsg(Buffer.from('{"op":"msg","seq":5,"extra":1,"data":{"t":3,"n":4}}')) }).toEqual({ seq: 5, t: 3, n: 4 });
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

describe('memory per connection (idle-memory)', () => {
  it('is the median step between batch readings, which one step of memory handed back does not move', () => {
    // 10 bytes per connection, and 30 handed back between the third and fourth batch.
    const points = [1, 2, 3, 4, 5].map((x) => ({ x, y: 10 * x - (x >= 4 ? 30 : 0) }));
    expect(medianStepSlope(points)).toBe(10);
    expect(medianStepSlope([{ x: 0, y: 5 }, { x: 4, y: 13 }])).toBe(2);
    expect(medianStepSlope([{ x: 0, y: 5 }])).toBeNaN();
  });
});
