import { expect, it } from 'vitest';
import { InsertBatcher, type Batch } from '../../src/analytics/insert-batcher.ts';

/** An insert the test completes or fails by hand, to see the batcher's decisions one at a time. */
function manualInsert() {
  const calls: { batch: Batch<number>; ok(): void; fail(error: Error): void }[] = [];
  const waiting: (() => void)[] = [];
  return {
    calls,
    insert(batch: Batch<number>): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        calls.push({ batch, ok: resolve, fail: reject });
        waiting.splice(0).forEach((wake) => wake());
      });
    },
    /** Resolves once the batcher has made its nth call. */
    async call(n: number) {
      while (calls.length < n) await new Promise<void>((resolve) => waiting.push(resolve));
      return calls[n - 1]!;
    },
  };
}

it('keeps one insert in flight, retries the same batch with the same token, and stores in order', async () => {
  const backend = manualInsert();
  const batcher = new InsertBatcher<number>({ insert: (b) => backend.insert(b), batchSize: 3, flushMs: 3_600_000, retryBaseMs: 1, retryMaxMs: 1 });
  batcher.start();
  for (let i = 1; i <= 7; i++) batcher.push(i);

  const first = await backend.call(1);
  expect(first.batch.items).toEqual([1, 2, 3]);
  expect(backend.calls).toHaveLength(1); // the second full batch waits for the first
  first.fail(new Error('down'));

  const retry = await backend.call(2);
  expect(retry.batch.items).toEqual([1, 2, 3]);
  expect(retry.batch.token).toBe(first.batch.token);
  retry.ok();

  const second = await backend.call(3);
  expect(second.batch.items).toEqual([4, 5, 6]);
  expect(second.batch.token).not.toBe(first.batch.token);
  const flushed = batcher.flush();
  second.ok();
  (await backend.call(4)).ok();
  await flushed;
  expect(backend.calls.map((c) => c.batch.items)).toEqual([[1, 2, 3], [1, 2, 3], [4, 5, 6], [7]]);
  expect(batcher.stats()).toEqual({ queued: 0, inserted: 7, dropped: 0, failures: 1 });
  await batcher.close({ deadlineMs: 100, abandoned: () => new Error('closed') });
});

it('when full, drops the newest and leaves the batch in flight untouched', async () => {
  const backend = manualInsert();
  const batcher = new InsertBatcher<number>({ insert: (b) => backend.insert(b), maxQueued: 5, batchSize: 2, flushMs: 3_600_000 });
  batcher.start();
  for (let i = 1; i <= 9; i++) batcher.push(i);
  expect(batcher.stats()).toMatchObject({ queued: 5, dropped: 4 });

  const flushed = batcher.flush();
  for (let n = 1; n <= 3; n++) (await backend.call(n)).ok();
  await flushed;
  expect(backend.calls.map((c) => c.batch.items)).toEqual([[1, 2], [3, 4], [5]]);
});

it('close() rejects flushes it could not satisfy and reports what it abandoned', async () => {
  const backend = manualInsert();
  const batcher = new InsertBatcher<number>({ insert: (b) => backend.insert(b), batchSize: 10, flushMs: 3_600_000 });
  batcher.start();
  batcher.push(1);
  const flushed = batcher.flush();
  await backend.call(1); // in flight, never answered
  const { abandoned } = await batcher.close({ deadlineMs: 20, abandoned: () => new Error('closed before stored') });
  expect(abandoned).toBe(1);
  await expect(flushed).rejects.toThrow('closed before stored');
});
