import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PendingTracker } from '../src/pending-tracker.ts';
import { tempDir } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('PendingTracker', () => {
  it('counts scans beyond what the hub has, in any arrival order, once each', async () => {
    const tracker = await PendingTracker.load(undefined);
    tracker.track([3, 2, 1, 0].map((clock) => ({ client: 7, clock })));
    tracker.track([{ client: 7, clock: 2 }, { client: 9, clock: 0 }]);
    expect(tracker.pending).toBe(5);
    tracker.track([{ client: 5, clock: 0 }], true);
    expect(tracker.pending).toBe(5);
    tracker.hubReached(new Map([[7, 2]]));
    expect(tracker.pending).toBe(3);
    tracker.hubReached(new Map([[7, 4], [9, 1]]));
    expect(tracker.pending).toBe(0);
    tracker.track([{ client: 7, clock: 1 }]);
    expect(tracker.pending).toBe(0);
  });

  it('remembers what the hub had across restarts', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const file = join(dir, 'hub-state.json');
    const first = await PendingTracker.load(file);
    first.hubReached(new Map([[7, 10]]));
    await first.close();
    const second = await PendingTracker.load(file);
    second.track([{ client: 7, clock: 9 }, { client: 7, clock: 10 }]);
    expect(second.pending).toBe(1);
    await second.close();
  });
});
