import { describe, expect, it } from 'vitest';
import { allArmed, levelOf, step, type Armed } from '../../src/streams/capacity/threshold-rules.ts';

/** Feeds a series of occupancy percentages through the rule, returning the thresholds that alerted at each step. */
function run(percents: number[], armed: Armed = allArmed()): number[][] {
  return percents.map((p) => {
    const result = step(armed, p / 100);
    armed = result.armed;
    return result.crossed.map((t) => t.percent);
  });
}

describe('capacity threshold rules', () => {
  it('raises each threshold once on the way up, all of them on a jump', () => {
    expect(run([50, 79, 80, 85, 90, 99, 100, 120])).toEqual([[], [], [80], [], [90], [], [100], [110]]);
    expect(run([100, 124, 125, 205])).toEqual([[80, 90, 100], [110], [125], []]);
    expect(run([10, 100])).toEqual([[], [80, 90, 100]]);
  });

  it('does not flood while a zone hovers around a threshold (hysteresis)', () => {
    expect(run([91, 89, 91, 88, 90.5, 86, 92])).toEqual([[80, 90], [], [], [], [], [], []]);
  });

  it('re-arms a threshold once the zone falls more than 5 points below it', () => {
    expect(run([91, 84.9, 91])).toEqual([[80, 90], [], [90]]);
    expect(run([81, 75.5, 81])).toEqual([[80], [], []]);
    expect(run([81, 74.9, 81])).toEqual([[80], [], [80]]);
  });

  it('names levels for display', () => {
    expect([0, 0.799, 0.8, 0.9, 1, 1.5].map(levelOf)).toEqual(['ok', 'ok', '80', '90', '100', '100']);
  });
});
