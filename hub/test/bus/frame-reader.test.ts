import { describe, expect, it } from 'vitest';
import { msgFrame } from '../../src/bus/bus.ts';
import { FrameReader } from '../../src/bus/redis/frame-reader.ts';
import { SignalCodec } from '../../src/bus/redis/signal-codec.ts';

describe('FrameReader', () => {
  const topic = 'event/zürich "x"/qa/s1';
  const reader = new FrameReader(topic);

  it('reads seq and ts from a frame without touching data', () => {
    expect(reader.read(msgFrame(topic, 12, 1718000000123, '{"seq":99,"ts":1,"x":"\\"seq\\":7"}'))).toBe(true);
    expect([reader.seq, reader.ts]).toEqual([12, 1718000000123]);
    expect(reader.read(msgFrame(topic, 9007199254740991, 0, 'null'))).toBe(true);
    expect(reader.seq).toBe(9007199254740991);
  });

  it('falls back to a full parse for an equivalent frame of another shape', () => {
    const frame = JSON.stringify({ seq: 3, ts: 44, topic, op: 'msg', data: { a: 1 } });
    expect(reader.read(frame)).toBe(true);
    expect([reader.seq, reader.ts]).toEqual([3, 44]);
  });

  it('refuses frames that are not messages of its topic', () => {
    for (const frame of [
      msgFrame('event/other/qa/s1', 1, 1, '{}'),
      msgFrame(topic, 0, 1, '{}'),
      `{"op":"msg","topic":${JSON.stringify(topic)},"seq":1,"ts":2}`,
      `{"op":"msg","topic":${JSON.stringify(topic)},"seq":1,"ts":2,"data":`,
      'not json',
      '[]',
    ]) {
      expect(reader.read(frame), frame).toBe(false);
    }
  });
});

describe('SignalCodec', () => {
  it('round-trips a payload and recognises its own echo', () => {
    const mine = new SignalCodec('hub-a');
    const theirs = new SignalCodec('hub-b');
    const wire = theirs.encode(new Uint8Array([0, 1, 254, 255]));
    const decoded = mine.decode(wire);
    expect(decoded?.from).toBe('hub-b');
    expect([...decoded!.payload]).toEqual([0, 1, 254, 255]);
    expect(mine.decode(mine.encode(new Uint8Array([1])))).toBeUndefined();
    expect(new SignalCodec('hub-a-2').decode(mine.encode(new Uint8Array([1])))?.from).toBe('hub-a');
    expect(mine.decode(Buffer.from([9, 1]))).toBeUndefined();
    expect(() => new SignalCodec('')).toThrow(RangeError);
  });
});
