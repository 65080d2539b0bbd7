import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';
import type { AnalyticsClient } from '../../src/analytics/analytics-client.ts';
import { ClickHouseAnalytics, type ClickHouseAnalyticsOptions } from '../../src/analytics/clickhouse-analytics.ts';
import { AnalyticsClosedError, AnalyticsStartError } from '../../src/analytics/errors.ts';
import { failingClient } from './failing-client.ts';
import { until } from './until.ts';

export interface AnalyticsTarget {
  kind: 'chdb' | 'clickhouse';
  /** A new real client on this test file's storage. */
  client(): AnalyticsClient;
}

type Options = Omit<ClickHouseAnalyticsOptions, 'kind' | 'client'> & { client?: () => AnalyticsClient };

/**
 * The behaviour every analytics backend must show, run against the real engine. Tests share one `events` table and
 * keep apart by using an event id of their own, as the hub's events do.
 */
export function analyticsContract(target: AnalyticsTarget): void {
  const opened: ClickHouseAnalytics[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((analytics) => analytics.close()));
  });

  async function started(options: Options = {}): Promise<ClickHouseAnalytics> {
    const analytics = open(options);
    await analytics.start();
    return analytics;
  }

  function open(options: Options = {}): ClickHouseAnalytics {
    const { client = () => target.client(), ...rest } = options;
    const analytics = new ClickHouseAnalytics({ kind: target.kind, client, ...rest });
    opened.push(analytics);
    return analytics;
  }

  async function count(analytics: ClickHouseAnalytics, event: string): Promise<number> {
    const [row] = await analytics.query<{ n: string }>('SELECT count() AS n FROM events WHERE event = {event:String}', { event });
    return Number(row?.n);
  }

  /** How many distinct `properties.i` the event has: equal to the count when nothing was stored twice. */
  async function distinctI(analytics: ClickHouseAnalytics, event: string): Promise<number> {
    const [row] = await analytics.query<{ n: string }>(
      "SELECT uniqExact(JSONExtractUInt(properties, 'i')) AS n FROM events WHERE event = {event:String}",
      { event },
    );
    return Number(row?.n);
  }

  function numbered(event: string, n: number, kind = 'test.numbered'): AnalyticsEvent[] {
    const base = Date.now();
    return Array.from({ length: n }, (_, i) => ({ ts: base + i, event, kind, properties: { i } }));
  }

  it('stores exactly what was recorded: 50,000 events of mixed kinds', async () => {
    const analytics = await started();
    const event = `e-${randomUUID()}`;
    const kinds = ['checkin.admitted', 'checkin.duplicate', 'poll.vote', 'qa.asked', 'lead.scanned'];
    const expected = new Map<string, { n: number; amount: number }>();
    const t0 = Date.UTC(2025, 5, 1, 8, 0, 0);
    for (let i = 0; i < 50_000; i++) {
      // uneven on purpose, so a count that leaks between kinds shows
      const kind = kinds[(i % 7) % kinds.length]!;
      const amount = i % 97;
      const sums = expected.get(kind) ?? { n: 0, amount: 0 };
      expected.set(kind, { n: sums.n + 1, amount: sums.amount + amount });
      analytics.record({ ts: t0 + i * 10, event, kind, zone: `zone-${i % 4}`, ticket: `T-${i}`, properties: { i, amount } });
    }
    await analytics.flush();

    const rows = await analytics.query<{ kind: string; n: string; amount: string }>(
      `SELECT kind, count() AS n, sum(JSONExtractInt(properties, 'amount')) AS amount
       FROM events WHERE event = {event:String} GROUP BY kind ORDER BY kind`,
      { event },
    );
    const stored = new Map(rows.map((row) => [row.kind, { n: Number(row.n), amount: Number(row.amount) }]));
    expect(stored).toEqual(expected);
    expect(await distinctI(analytics, event)).toBe(50_000);
    expect(analytics.stats()).toEqual({ queued: 0, inserted: 50_000, dropped: 0, failures: 0 });
  });

  it('inserts on its own once a batch is full', async () => {
    const analytics = await started({ batchSize: 1_000, flushMs: 3_600_000 });
    const event = `e-${randomUUID()}`;
    for (const e of numbered(event, 2_500)) analytics.record(e);

    await until(() => analytics.stats().inserted === 2_000, { what: 'two full batches' });
    expect(analytics.stats().queued).toBe(500);
    expect(await count(analytics, event)).toBe(2_000);

    await analytics.flush();
    expect(await count(analytics, event)).toBe(2_500);
  });

  it('inserts a partial batch on the interval', async () => {
    const analytics = await started({ batchSize: 10_000, flushMs: 50 });
    const event = `e-${randomUUID()}`;
    for (const e of numbered(event, 3)) analytics.record(e);

    await until(() => analytics.stats().inserted === 3, { what: 'the interval flush' });
    expect(await count(analytics, event)).toBe(3);
  });

  it('round-trips properties and dimensions: unicode, quotes, escapes, separators', async () => {
    const analytics = await started();
    const event = `e-"quoted" 'single' ${randomUUID()}`;
    const properties = {
      text: 'Zürich → 東京 🎟️ «ok»',
      quotes: `he said "hi" and 'bye'`,
      escapes: 'back\\slash \n newline \t tab \u0000 nul \u2028 line-separator',
      sql: "x'); DROP TABLE events; --",
      nested: { list: [1, 2.5, -3, null, true], empty: {}, deep: { a: [{ b: 'c' }] } },
      number: 12345.678,
    };
    const ts = 1_748_822_399_987;
    analytics.record({ ts, event, kind: 'chat.message', actor: 'O\'Brien "the" 🦆', zone: 'Halle 1 / Süd', session: 's;1', exhibitor: 'ACME\tInc', ticket: 'T\n1', properties });
    await analytics.flush();

    const [row] = await analytics.query<Record<string, string>>(
      'SELECT toUnixTimestamp64Milli(ts) AS ms, kind, actor, zone, session, exhibitor, ticket, properties FROM events WHERE event = {event:String}',
      { event },
    );
    expect(row).toBeDefined();
    expect(JSON.parse(row!.properties!)).toEqual(properties);
    expect(row).toMatchObject({ ms: String(ts), kind: 'chat.message', actor: 'O\'Brien "the" 🦆', zone: 'Halle 1 / Süd', session: 's;1', exhibitor: 'ACME\tInc', ticket: 'T\n1' });
  });

  it('never throws on odd input, and still stores a row for it', async () => {
    const analytics = await started();
    const event = `e-${randomUUID()}`;
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const odd = [
      { ts: Number.NaN, event, kind: 'odd.nan' },
      { ts: 1_700_000_000_000, event, kind: 'odd.cyclic', properties: cyclic },
      { ts: 1_700_000_000_000, event, kind: 'odd.bigint', properties: { big: 2n ** 64n } },
      { ts: 1_700_000_000_000.9, event, kind: 'odd.fraction', actor: 42 as unknown as string, zone: undefined },
    ];
    for (const e of odd) expect(() => analytics.record(e)).not.toThrow();
    expect(() => analytics.record(undefined as unknown as AnalyticsEvent)).not.toThrow();
    await analytics.flush();

    const rows = await analytics.query<{ kind: string; ms: string; actor: string; properties: string }>(
      'SELECT kind, toUnixTimestamp64Milli(ts) AS ms, actor, properties FROM events WHERE event = {event:String} ORDER BY kind',
      { event },
    );
    const byKind = Object.fromEntries(rows.map((row) => [row.kind, row]));
    expect(Object.keys(byKind)).toEqual(['odd.bigint', 'odd.cyclic', 'odd.fraction', 'odd.nan']);
    expect(JSON.parse(byKind['odd.bigint']!.properties)).toEqual({ big: '18446744073709551616' });
    expect(JSON.parse(byKind['odd.cyclic']!.properties)).toEqual({ unserializable: true });
    expect(byKind['odd.fraction']).toMatchObject({ ms: '1700000000000', actor: '42' });
    expect(Math.abs(Number(byKind['odd.nan']!.ms) - Date.now())).toBeLessThan(60_000);
  });

  it('flush() rejects with the backend error, keeps the batch, and a later flush stores it', async () => {
    const analytics = await started({ client: () => failingClient(target.client(), { before: 1, error: () => new Error('backend said no') }) });
    const event = `e-${randomUUID()}`;
    for (const e of numbered(event, 10)) analytics.record(e);

    await expect(analytics.flush()).rejects.toThrow('backend said no');
    expect(analytics.stats()).toMatchObject({ queued: 10, inserted: 0, failures: 1 });

    await analytics.flush();
    expect(await count(analytics, event)).toBe(10);
    expect(analytics.stats()).toMatchObject({ queued: 0, inserted: 10, failures: 1 });
  });

  it('retries failed inserts until every event is stored, each once', async () => {
    const analytics = await started({
      client: () => failingClient(target.client(), { before: 3 }),
      batchSize: 1_000,
      flushMs: 20,
      retryBaseMs: 1,
      retryMaxMs: 20,
    });
    const event = `e-${randomUUID()}`;
    for (const e of numbered(event, 12_345)) analytics.record(e);

    await until(() => analytics.stats().queued === 0, { what: 'the queue to drain through retries' });
    expect(analytics.stats()).toMatchObject({ inserted: 12_345, failures: 3, dropped: 0 });
    expect(await count(analytics, event)).toBe(12_345);
    expect(await distinctI(analytics, event)).toBe(12_345);
  });

  it('does not store twice a batch that was stored but reported failed', async () => {
    const client = failingClient(target.client(), { after: 2 });
    const analytics = await started({ client: () => client, batchSize: 500, flushMs: 20, retryBaseMs: 1, retryMaxMs: 20 });
    const event = `e-${randomUUID()}`;
    for (const e of numbered(event, 1_750)) analytics.record(e);

    await until(() => analytics.stats().queued === 0, { what: 'the queue to drain through retries' });
    // The engine really received the first batch three times, under one token (4 batches, 6 inserts) ...
    expect([...client.tokens.values()].sort()).toEqual([1, 1, 1, 3]);
    // ... and kept it once.
    expect(await count(analytics, event)).toBe(1_750);
    expect(await distinctI(analytics, event)).toBe(1_750);
    expect(analytics.stats()).toMatchObject({ inserted: 1_750, failures: 2 });
  });

  it('close() stores what is queued; a new instance on the same storage starts again and sees it', async () => {
    const first = await started({ flushMs: 3_600_000 });
    const event = `e-${randomUUID()}`;
    for (const e of numbered(event, 100)) first.record(e);
    await first.close();
    expect(first.stats()).toMatchObject({ queued: 0, inserted: 100 });

    const second = await started();
    expect(await count(second, event)).toBe(100);
  });

  it('keeps events recorded before start() and inserts them once started', async () => {
    const analytics = open();
    const event = `e-${randomUUID()}`;
    for (const e of numbered(event, 5)) analytics.record(e);
    expect(analytics.stats().queued).toBe(5);
    await analytics.start();
    await analytics.flush();
    expect(await count(analytics, event)).toBe(5);
  });

  it('after close(): record() drops and counts, flush() and query() reject', async () => {
    const analytics = await started();
    await analytics.close();
    expect(() => analytics.record({ ts: Date.now(), event: 'x', kind: 'late' })).not.toThrow();
    expect(analytics.stats().dropped).toBe(1);
    await expect(analytics.flush()).rejects.toBeInstanceOf(AnalyticsClosedError);
    await expect(analytics.query('SELECT 1')).rejects.toBeInstanceOf(AnalyticsClosedError);
  });

  it('start() rejects when the backend refuses the DDL, naming the statement', async () => {
    const refusing = (): AnalyticsClient => {
      const real = target.client();
      // A real engine error: the statement is swapped for one the engine refuses.
      return { ...bind(real), command: () => real.command({ query: 'SELECT * FROM table_that_does_not_exist_anywhere' }) };
    };
    const analytics = open({ client: refusing });
    const failure = await analytics.start().then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(AnalyticsStartError);
    expect((failure as AnalyticsStartError).statement).toMatch(/CREATE TABLE IF NOT EXISTS events/);
  });
}

function bind(client: AnalyticsClient): AnalyticsClient {
  return {
    command: (params) => client.command(params),
    exec: (params) => client.exec(params),
    query: (params) => client.query(params),
    close: () => client.close(),
  };
}
