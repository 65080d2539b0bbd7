import { createServer } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { ClickHouseAnalytics } from '../../src/analytics/clickhouse-analytics.ts';
import { AnalyticsClosedError } from '../../src/analytics/errors.ts';
import { createServerClient } from '../../src/analytics/server-client.ts';
import { until } from './until.ts';

/** A port that was just listening on 127.0.0.1 and no longer is: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const opened: ClickHouseAnalytics[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((analytics) => analytics.close()));
});

async function unreachable(closeTimeoutMs: number): Promise<ClickHouseAnalytics> {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const analytics = new ClickHouseAnalytics({
    kind: 'clickhouse',
    client: () => createServerClient({ url }),
    maxQueued: 1_000,
    batchSize: 100,
    flushMs: 10,
    retryBaseMs: 5,
    retryMaxMs: 50,
    closeTimeoutMs,
  });
  opened.push(analytics);
  // An unreachable server is waited out, not an error: the hub must boot while its ClickHouse restarts.
  await analytics.start();
  return analytics;
}

it('with the backend down: record() never throws, the queue stays bounded, drops and failures are counted', async () => {
  const analytics = await unreachable(300);
  let maxQueued = 0;
  for (let i = 0; i < 5_000; i++) {
    expect(() => analytics.record({ ts: Date.now(), event: 'e', kind: 'down.test', properties: { i } })).not.toThrow();
    maxQueued = Math.max(maxQueued, analytics.stats().queued);
  }
  expect(maxQueued).toBe(1_000);
  expect(analytics.stats()).toMatchObject({ queued: 1_000, dropped: 4_000, inserted: 0 });

  await until(() => analytics.stats().failures >= 3, { what: 'repeated failed inserts' });
  expect(analytics.stats()).toMatchObject({ queued: 1_000, dropped: 4_000, inserted: 0 });
  await expect(analytics.flush()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});

it('close() gives up at its deadline while the backend is down', async () => {
  const closeTimeoutMs = 300;
  const analytics = await unreachable(closeTimeoutMs);
  for (let i = 0; i < 250; i++) analytics.record({ ts: Date.now(), event: 'e', kind: 'down.test' });
  const pendingFlush = analytics.flush().then(() => 'stored', (error: unknown) => error);

  const startedAt = performance.now();
  await analytics.close();
  const elapsed = performance.now() - startedAt;

  // Not a performance check: "does not hang" needs some bound, and this one is ten times the slack a busy CI needs.
  expect(elapsed).toBeLessThan(closeTimeoutMs + 3_000);
  expect(analytics.stats()).toMatchObject({ queued: 250, inserted: 0 });
  expect(await pendingFlush).toBeInstanceOf(Error);
  await expect(analytics.flush()).rejects.toBeInstanceOf(AnalyticsClosedError);
});
