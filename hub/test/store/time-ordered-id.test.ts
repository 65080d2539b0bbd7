import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/store/ids/time-ordered-id.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedId', () => {
  it('is a UUIDv7 carrying the time it was made', () => {
    const before = Date.now();
    const id = timeOrderedId();
    expect(id).toMatch(UUID_V7);
    const ms = parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });

  it('sorts as text in the order made: a tight loop, one millisecond past its counter, and a clock stepping back', () => {
    const made = Array.from({ length: 20_000 }, () => timeOrderedId());
    const frozen = Date.now() + 60_000;
    made.push(...Array.from({ length: 9_000 }, () => timeOrderedId(frozen)));
    made.push(...Array.from({ length: 100 }, () => timeOrderedId(frozen - 5_000)));
    for (const id of made) expect(id).toMatch(UUID_V7);
    expect(new Set(made).size).toBe(made.length);
    expect([...made].sort()).toEqual(made);
  });
});
