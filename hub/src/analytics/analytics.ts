import type { Readable } from 'node:stream';
import type { Erasure } from './erase-events.ts';

/**
 * The raw event stream for heatmaps and sponsor dashboards, in ClickHouse (chDB embedded, or a server).
 *
 * `record()` never blocks and never throws: the live path must not wait on analytics. Events are batched and inserted
 * on size or interval; a failed insert is counted and retried; the queue is bounded and counts what it drops.
 */
export interface Analytics {
  readonly kind: 'chdb' | 'clickhouse';
  /** Creates the tables from `schema/clickhouse/*.sql` when missing and starts the flush timer. */
  start(): Promise<void>;
  record(event: AnalyticsEvent): void;
  /**
   * Stores one batch from the Store's outbox now, without queueing: resolves once it is stored, rejects when the
   * backend fails. A batch sent again with the same `token` is stored once (see `schema/clickhouse/006_outbox.sql`).
   */
  ingest(batch: OutboxBatch): Promise<void>;
  /**
   * The name this ClickHouse goes by in the relay's progress table: `clickhouse` for a server (one per deployment,
   * shared by every hub), `chdb:<id>` for an embedded engine, with an id kept inside its own data.
   */
  relayTarget(): Promise<string>;
  /**
   * Removes an erasure's rows from the raw table and from every view derived from it (see `erase-events.ts`).
   * The outbox relay calls this, between two of its inserts, for each erasure request in the Store.
   */
  erase(erasure: Erasure): Promise<void>;
  /** The event's raw rows, oldest first, in ClickHouse's own `CSVWithNames` or `Parquet` output, as a byte stream. */
  exportEvents(event: string, format: ExportFormat): Promise<Readable>;
  /** Inserts everything queued so far; resolves when it is stored (or rejects if the backend refuses). */
  flush(): Promise<void>;
  /** Read-only query with ClickHouse `{name:Type}` parameters; rows as objects. */
  query<Row = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<Row[]>;
  stats(): AnalyticsStats;
  /** Flushes what is queued (bounded in time), then closes the client. */
  close(): Promise<void>;
}

/** What `exportEvents` writes: CSV with a header row, or Parquet. */
export type ExportFormat = 'csv' | 'parquet';

/** One row of the raw `events` table. Empty string where a dimension does not apply. */
export interface AnalyticsEvent {
  /** milliseconds since the epoch */
  ts: number;
  event: string;
  /** what happened, dotted: `checkin.admitted`, `announcement.sent`, `poll.vote` … */
  kind: string;
  actor?: string;
  zone?: string;
  session?: string;
  exhibitor?: string;
  ticket?: string;
  properties?: Record<string, unknown>;
}

/** Outbox rows on their way to ClickHouse: `oid` then the event's TabSeparated line, one per row, `\n`-separated. */
export interface OutboxBatch {
  /** the same on every attempt to send these rows: the deduplication token */
  readonly token: string;
  readonly body: string;
  readonly rows: number;
}

export interface AnalyticsStats {
  /** events waiting to be inserted */
  queued: number;
  /** events inserted since start */
  inserted: number;
  /** events dropped because the queue was full */
  dropped: number;
  /** failed insert attempts (each retried) */
  failures: number;
}
