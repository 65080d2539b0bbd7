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
  /** Inserts everything queued so far; resolves when it is stored (or rejects if the backend refuses). */
  flush(): Promise<void>;
  /** Read-only query with ClickHouse `{name:Type}` parameters; rows as objects. */
  query<Row = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<Row[]>;
  stats(): AnalyticsStats;
  /** Flushes what is queued (bounded in time), then closes the client. */
  close(): Promise<void>;
}

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
