import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analytics, AnalyticsEvent } from '../../src/analytics/analytics.ts';
import { createAnalytics } from '../../src/analytics/create-analytics.ts';
import { OutboxRelay } from '../../src/analytics/outbox-relay.ts';
import { PgliteStore } from '../../src/store/pglite/pglite-store.ts';
import { recordAnalytics } from '../../src/store/repos/analytics-outbox-repo.ts';
import type { Store } from '../../src/store/store.ts';
import { until } from './until.ts';

/**
 * Issue 14, item 3: a ClickHouse (chDB) restart and a Store restart, each in the middle of shipping, end exact. Real
 * parts: chDB on a data folder closed and opened again in this process, PGlite on a data folder closed and opened
 * again; writes go on throughout, as the live path does. Afterwards every count in the raw table and the views equals
 * what was written, once.
 */
let dir: string;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opshub-restarts-'));
});
afterAll(async () => {
  for (const resource of opened.reverse()) await resource.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function openAnalytics(): Promise<Analytics> {
  const analytics = createAnalytics({ dataDir: join(dir, 'engine') });
  await analytics.start();
  opened.push(analytics);
  return analytics;
}

async function openStore(): Promise<Store> {
  const store = new PgliteStore({ dataDir: join(dir, 'store'), template: process.env.PGLITE_TEMPLATE });
  await store.start();
  opened.push(store);
  return store;
}

function relayOf(store: { readonly db: Store['db'] }, analytics: Analytics): OutboxRelay {
  const relay = new OutboxRelay({ store, analytics, batchSize: 500, pollMs: 20, backlogEveryMs: 50, retryBaseMs: 20, retryMaxMs: 200 });
  opened.push(relay);
  relay.start();
  return relay;
}

const vote = (event: string, i: number): AnalyticsEvent => ({ ts: Date.now(), event, kind: 'poll.vote', actor: `a${i}`, session: 'keynote', properties: { i } });

async function write(store: Store, event: string, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i += 100) {
    await store.db.transaction().execute((trx) => recordAnalytics(trx, Array.from({ length: 100 }, (_, j) => vote(event, i + j))));
  }
}

async function counts(analytics: Analytics, event: string): Promise<{ rows: number; ids: number; votes: number }> {
  const [row] = await analytics.query<{ rows: string; ids: string }>('SELECT count() AS rows, uniqExact(oid) AS ids FROM events WHERE event = {event:String}', { event });
  const [views] = await analytics.query<{ votes: string }>('SELECT sum(votes) AS votes FROM session_engagement_1m WHERE event = {event:String}', { event });
  return { rows: Number(row?.rows ?? 0), ids: Number(row?.ids ?? 0), votes: Number(views?.votes ?? 0) };
}

describe('analytics through restarts', { timeout: 180_000 }, () => {
  it('a chDB restart mid-shipping: the relay picks up where the engine\'s own data says, and the counts end exact', async () => {
    const store = await openStore();
    let analytics = await openAnalytics();
    const target = await analytics.relayTarget();
    const event = 'chdb-restart';
    await write(store, event, 0, 3_000);
    let relay = relayOf(store, analytics);
    await until(() => relay.stats().shipped >= 500, { what: 'the first batches to be shipped', timeoutMs: 60_000 });

    // The engine goes away in the middle of the run; the live path goes on writing meanwhile.
    await analytics.close();
    await write(store, event, 3_000, 1_000);
    await relay.close();
    analytics = await openAnalytics();
    // The same data folder: the same target, so its cursor in the Store still applies and nothing is sent twice.
    expect(await analytics.relayTarget()).toBe(target);
    relay = relayOf(store, analytics);
    await write(store, event, 4_000, 500);
    await relay.drain();
    expect(await counts(analytics, event)).toEqual({ rows: 4_500, ids: 4_500, votes: 4_500 });
    await relay.close();
    await analytics.close();
    await store.close();
  });

  it('a Store restart mid-shipping: the relay waits it out, resumes from its recorded cursor, and the counts end exact', async () => {
    const analytics = await openAnalytics();
    let store = await openStore();
    // The relay reads `db` at each step: a holder lets the same relay go on with the reopened Store.
    const holder = { get db() { return store.db; } };
    const event = 'store-restart';
    await write(store, event, 0, 3_000);
    const relay = relayOf(holder, analytics);
    await until(() => relay.stats().shipped >= 500, { what: 'the first batches to be shipped', timeoutMs: 60_000 });

    // The Store closes under the running relay (its steps fail and are retried), then opens again on the same folder.
    await store.close();
    store = await openStore();
    await write(store, event, 3_000, 1_000);
    await relay.drain();
    expect(await counts(analytics, event)).toEqual({ rows: 4_000, ids: 4_000, votes: 4_000 });
    await relay.close();
  });
});
