import type { Readable } from 'node:stream';
import { clickhouseDdl } from '../../../schema/clickhouse/index.ts';
import { randomUUID } from 'node:crypto';
import type { Analytics, AnalyticsEvent, AnalyticsStats, ExportFormat, OutboxBatch } from './analytics.ts';
import { eraseEvents, type Erasure } from './erase-events.ts';
import type { AnalyticsClient, AnalyticsClientFactory } from './analytics-client.ts';
import { AnalyticsClosedError, AnalyticsNotStartedError, AnalyticsStartError } from './errors.ts';
import { eventColumns } from './event-row.ts';
import { InsertBatcher, type Batch } from './insert-batcher.ts';
import { InsertSender } from './insert-sender.ts';
import { EventBlockBuilder, type EventBlock } from './native-block.ts';
import { withDeadline } from './with-deadline.ts';

export interface ClickHouseAnalyticsOptions {
  kind: 'chdb' | 'clickhouse';
  /** Called by `start()`, twice: one client inserts, the other reads (see `start()`). */
  client: AnalyticsClientFactory;
  /** Events held in memory (queued plus in flight) before `record()` drops new ones (default 200,000: a second at full rate). */
  maxQueued?: number;
  /**
   * Insert as soon as this many events wait (default 100,000); fewer go out on the interval. Large batches are what
   * make ingest cheap: each insert writes a part per table and materialized view, so the engine's cost per event at
   * 50,000 rows is about half what it is at 5,000, and at 100,000 about a fifth less again. Below that rate the
   * interval decides, and batches stay small.
   */
  batchSize?: number;
  /** Insert whatever waits at this interval (default 1,000 ms). */
  flushMs?: number;
  /** First retry delay after a failed insert, doubled per failure (default 100 ms). */
  retryBaseMs?: number;
  /** Longest retry delay (default 30,000 ms). Keep it well inside what the table's deduplication window covers. */
  retryMaxMs?: number;
  /** How long `close()` may spend storing what is queued and closing the client (default 5,000 ms). */
  closeTimeoutMs?: number;
  /** Told about every failed attempt to create the tables or insert a batch, for logging. */
  onError?(error: unknown, context: { op: 'schema' | 'insert'; events: number; attempts: number }): void;
}

/**
 * The settings of every insert, in the statement itself.
 * - `insert_deduplication_token`: the batch's own token, the same on each retry. ClickHouse keeps the tokens of the
 *   last blocks (`non_replicated_deduplication_window` in the DDL) and skips a block it has seen, so a retry of an insert
 *   that was stored, or stored in part (one part per partition), stores only what is missing: exactly once. A token
 *   also stops ClickHouse from taking two batches with identical content for a retry of each other.
 * - `async_insert = 0`: chDB enables async inserts by default, and a server may too. An async insert is deduplicated
 *   under other rules and acknowledged before it is in a part; `flush()` promises "stored".
 * - `optimize_on_insert = 0`: the views' Summing- and ReplacingMergeTree tables would otherwise sum or collapse each
 *   block as it is written, work their background merges do anyway and that no query relies on (they `sum()` and
 *   count distinct). Measured about a tenth less CPU per event ingested.
 *
 * Why a `SETTINGS` clause and not the client's `clickhouse_settings`: chDB turns those into `SET …;` statements run
 * before the insert, which makes the engine parse the statement as a multi-statement script, and a `SET` stays on the
 * session afterwards. The clause is one statement, read the same way by a server.
 * The token is checked before it goes into the SQL text: the batcher makes UUIDs, the relay digits, dots and a dash.
 */
function insertSettings(token: string): string {
  if (!/^[\w.:-]+$/.test(token)) throw new Error(`unexpected deduplication token ${JSON.stringify(token)}`);
  return `insert_deduplication_token = '${token}', insert_deduplicate = 1, async_insert = 0, optimize_on_insert = 0`;
}

/** The columns of an outbox body: the outbox id, then the event's TabSeparated line (see `event-row.ts`). */
const outboxInto = `events (oid, ${eventColumns.join(', ')})`;
const outboxStructure = `oid UInt64, ts DateTime64(3, 'UTC'), ${eventColumns.slice(1).map((c) => `${c} String`).join(', ')}`;
/** The columns of a block from `encodeEventBlock` without ids. */
const recordedInto = `events (${eventColumns.join(', ')})`;

/**
 * Settings on every query. 64-bit integers (`count()`, `sum()` of integers) come back as JSON strings, as a
 * ClickHouse server does by default; chDB's default is numbers, so it is pinned to keep rows identical on both.
 * (chDB keeps a setting for the rest of its session, which is why nothing per-query such as `readonly` is set here.)
 */
const QUERY_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

/**
 * `Analytics` on ClickHouse through `@clickhouse/client`: chDB in-process (kind `chdb`) or a server (kind `clickhouse`),
 * with the same code. Events are batched by an {@link InsertBatcher} and inserted as `Native` column blocks (see
 * `native-block.ts`); outbox batches arrive as TabSeparated text from the Store and go in as they are.
 *
 * Delivery is exactly once into `events` while the process lives: a failed batch is retried unchanged with the same
 * deduplication token until stored. Events still queued when `close()` gives up, or dropped because the queue was
 * full, are lost and counted.
 *
 * `start()` rejects when the client cannot be made or the backend refuses the DDL (a bad statement, bad credentials).
 * A backend that cannot be reached only delays the tables: they are created before the first insert that gets through,
 * so a hub can boot while its ClickHouse restarts, without losing what it records meanwhile.
 *
 * @example
 * const analytics = new ClickHouseAnalytics({
 *   kind: 'chdb',
 *   client: async () => (await import('./chdb-client.ts')).createChdbClient({ path: './data/clickhouse' }),
 * });
 * await analytics.start();
 * analytics.record({ ts: Date.now(), event: 'e1', kind: 'checkin.admitted', zone: 'hall-a', ticket: 'T-1' });
 * const rows = await analytics.query<{ zone: string; n: string }>(
 *   'SELECT zone, count() AS n FROM events WHERE event = {event:String} GROUP BY zone', { event: 'e1' });
 * await analytics.close();
 */
export class ClickHouseAnalytics implements Analytics {
  readonly kind: 'chdb' | 'clickhouse';
  readonly #makeClient: AnalyticsClientFactory;
  readonly #closeTimeoutMs: number;
  readonly #onError: ClickHouseAnalyticsOptions['onError'];
  readonly #batcher: InsertBatcher<AnalyticsEvent, EventBlock>;
  readonly #sender: InsertSender;
  #client: AnalyticsClient | undefined;
  /** reads go through their own client: see #start */
  #reader: AnalyticsClient | undefined;
  #schemaReady = false;
  #starting: Promise<void> | undefined;
  #target: Promise<string> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ClickHouseAnalyticsOptions) {
    this.kind = options.kind;
    this.#makeClient = options.client;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#onError = options.onError;
    this.#sender = new InsertSender({ stage: options.kind === 'chdb' });
    this.#batcher = new InsertBatcher<AnalyticsEvent, EventBlock>({
      insert: (batch) => this.#insert(batch),
      // Each event goes straight into the columns of the next Native block (see `native-block.ts`). Its buffers start
      // small (an idle hub holds little) and keep what they grew to: stored blocks' buffers carry the next ones.
      accumulator: new EventBlockBuilder(),
      maxQueued: options.maxQueued ?? 200_000,
      batchSize: options.batchSize ?? 100_000,
      flushMs: options.flushMs,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      onInsertError: (error, batch) =>
        this.#onError?.(error, { op: this.#schemaReady ? 'insert' : 'schema', events: batch.count, attempts: batch.attempts }),
    });
  }

  start(): Promise<void> {
    if (this.#closing) return Promise.reject(new AnalyticsClosedError(this.kind));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    let client: AnalyticsClient;
    try {
      client = await this.#makeClient();
    } catch (cause) {
      throw new AnalyticsStartError(this.kind, undefined, { cause });
    }
    try {
      await this.#ensureSchema(client);
    } catch (error) {
      if (isRefusal(error)) {
        await client.close().catch(() => undefined);
        throw new AnalyticsStartError(this.kind, (error as SchemaError).statement, { cause: (error as SchemaError).cause });
      }
      this.#onError?.(error, { op: 'schema', events: 0, attempts: 1 });
    }
    // A second client for reads: chDB runs one statement at a time per connection, so on the inserting one a dashboard
    // query would wait behind a batch of tens of thousands of rows. (Against a server it is merely a second pool.)
    let reader: AnalyticsClient;
    try {
      reader = await this.#makeClient();
    } catch (cause) {
      await client.close().catch(() => undefined);
      throw new AnalyticsStartError(this.kind, undefined, { cause });
    }
    if (this.#closing) {
      await Promise.all([client.close().catch(() => undefined), reader.close().catch(() => undefined)]);
      throw new AnalyticsClosedError(this.kind);
    }
    this.#client = client;
    this.#reader = reader;
    this.#batcher.start();
  }

  record(event: AnalyticsEvent): void {
    try {
      this.#batcher.push(event);
    } catch {
      // push does not throw (an event the block cannot take is counted as dropped); this guards the promise that
      // record() never does, whatever `event` is.
    }
  }

  async ingest(batch: OutboxBatch): Promise<void> {
    if (this.#closing) throw new AnalyticsClosedError(this.kind);
    const client = this.#client;
    if (!client) throw new AnalyticsNotStartedError(this.kind);
    if (!this.#schemaReady) await this.#ensureSchema(client).catch((error: unknown) => Promise.reject(error instanceof SchemaError ? error.cause : error));
    await this.#sender.send(client, { into: outboxInto, settings: insertSettings(batch.token), format: 'TabSeparated', structure: outboxStructure, body: batch.body });
  }

  async erase(erasure: Erasure): Promise<void> {
    if (this.#closing) throw new AnalyticsClosedError(this.kind);
    const client = this.#client;
    if (!client) throw new AnalyticsNotStartedError(this.kind);
    if (!this.#schemaReady) await this.#ensureSchema(client).catch((error: unknown) => Promise.reject(error instanceof SchemaError ? error.cause : error));
    // On the inserting client: chDB runs its statements one at a time, so no insert lands between two steps.
    await eraseEvents(client, erasure);
  }

  async exportEvents(event: string, format: ExportFormat): Promise<Readable> {
    const reader = this.#usableReader();
    const result = await reader.exec({
      query: `SELECT ts, event, kind, actor, zone, session, exhibitor, ticket, properties, oid FROM events WHERE event = {event:String} ORDER BY ts, oid FORMAT ${format === 'parquet' ? 'Parquet' : 'CSVWithNames'}`,
      query_params: { event },
    });
    return result.stream;
  }

  async relayTarget(): Promise<string> {
    if (this.kind === 'clickhouse') return 'clickhouse';
    this.#target ??= this.#chdbIdentity().catch((error: unknown) => {
      this.#target = undefined;
      throw error;
    });
    return this.#target;
  }

  /** The id stored in this chDB's own data, made on first use (one process holds a chDB folder: no race). */
  async #chdbIdentity(): Promise<string> {
    const reader = this.#usableReader();
    const found = async () => {
      const result = await reader.query({ query: 'SELECT id FROM relay_identity ORDER BY created, id LIMIT 1', format: 'JSONEachRow' });
      return ((await result.json()) as { id: string }[])[0]?.id;
    };
    let id = await found();
    if (!id) {
      await reader.command({ query: `INSERT INTO relay_identity (id) VALUES ('${randomUUID()}')` });
      id = await found();
    }
    if (!id) throw new Error('chDB did not keep its relay identity');
    return `chdb:${id}`;
  }

  flush(): Promise<void> {
    if (this.#closing) return Promise.reject(new AnalyticsClosedError(this.kind));
    if (!this.#client) return Promise.reject(new AnalyticsNotStartedError(this.kind));
    return this.#batcher.flush();
  }

  /**
   * Runs one read query; `{name:Type}` placeholders are bound from `params` by the engine, never spliced into the SQL.
   * 64-bit integers come back as strings: cast in SQL (`toUInt32(count())`) where a number is wanted.
   */
  async query<Row = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<Row[]> {
    const reader = this.#usableReader();
    const result = await reader.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: QUERY_SETTINGS });
    return (await result.json()) as Row[];
  }

  stats(): AnalyticsStats {
    return this.#batcher.stats();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const deadline = Date.now() + this.#closeTimeoutMs;
    if (this.#starting) await withDeadline(this.#starting, this.#closeTimeoutMs);
    await this.#batcher.close({ deadlineMs: deadline - Date.now(), abandoned: () => new AnalyticsClosedError(this.kind) });
    const clients = [this.#client, this.#reader].filter((c) => c !== undefined);
    this.#client = undefined;
    this.#reader = undefined;
    // An insert may still be in flight against a dead server; closing the client is what ends it, so do not wait past
    // the deadline for that either.
    await withDeadline(Promise.all(clients.map((c) => c.close())), deadline - Date.now());
    this.#sender.close();
  }

  async #insert(batch: Batch<AnalyticsEvent, EventBlock>): Promise<void> {
    const client = this.#client;
    if (!client) throw new AnalyticsClosedError(this.kind);
    // flush() promises the backend's own error, so the DDL statement's wrapper comes off here.
    if (!this.#schemaReady) await this.#ensureSchema(client).catch((error: unknown) => Promise.reject(error instanceof SchemaError ? error.cause : error));
    // Columns, not lines: the engine copies a Native block instead of parsing text (see `native-block.ts`). The block
    // was built as the events were recorded, so a retry sends the very same bytes.
    await this.#sender.send(client, { into: recordedInto, settings: insertSettings(batch.token), format: 'Native', body: batch.items.parts });
  }

  async #ensureSchema(client: AnalyticsClient): Promise<void> {
    for (const statement of await clickhouseDdl()) {
      try {
        await client.command({ query: statement });
      } catch (cause) {
        throw new SchemaError(statement, cause);
      }
    }
    this.#schemaReady = true;
  }

  #usableReader(): AnalyticsClient {
    if (this.#closing) throw new AnalyticsClosedError(this.kind);
    if (!this.#reader) throw new AnalyticsNotStartedError(this.kind);
    return this.#reader;
  }
}

/** A DDL statement that failed, carrying the backend's error as `cause`. */
class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    readonly statement: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * True when the backend answered and said no (a ClickHouse error with a code: bad SQL, bad credentials, unknown
 * database), as opposed to not answering (refused connection, timeout, DNS), which is worth waiting out.
 */
function isRefusal(error: unknown): boolean {
  const cause = error instanceof SchemaError ? error.cause : error;
  // Structural rather than `instanceof ClickHouseError`: chDB's connection may build it from its own copy of the
  // client package. Network errors carry a string `code` too (`ECONNREFUSED`), but never a numeric one with a `type`.
  if (!(cause instanceof Error)) return false;
  const { code, type } = cause as Error & { code?: unknown; type?: unknown };
  return typeof code === 'string' && /^\d+$/.test(code) && typeof type === 'string';
}
