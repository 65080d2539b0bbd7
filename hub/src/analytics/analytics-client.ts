import type { Readable } from 'node:stream';

/**
 * The slice of `@clickhouse/client`'s `ClickHouseClient` that analytics uses. Depending on this structural type rather
 * than the whole client keeps the heavy client (and chDB's native engine) out of anything that only records events,
 * and lets tests wrap a real client to inject failures.
 *
 * Inserts go through `exec` with a body rather than `insert`, so that the statement can carry its own
 * `SETTINGS` clause (the batch's deduplication token): see `ClickHouseAnalytics`.
 */
export interface AnalyticsClient {
  command(params: { query: string; query_params?: Record<string, unknown> }): Promise<unknown>;
  /** with `values`, an insert body; without, a query whose answer is read raw from `stream` (an export) */
  exec(params: { query: string; values?: Readable; query_params?: Record<string, unknown> }): Promise<{ stream: Readable }>;
  query(params: {
    query: string;
    format: 'JSONEachRow';
    query_params?: Record<string, unknown>;
    clickhouse_settings?: Record<string, string | number | boolean>;
  }): Promise<{ json(): Promise<unknown> }>;
  close(): Promise<void>;
}

/**
 * Makes the client when analytics starts, so the import of `chdb` or `@clickhouse/client` can be deferred to then.
 *
 * @example
 * const factory: AnalyticsClientFactory = async () =>
 *   (await import('./chdb-client.ts')).createChdbClient({ path: './data/clickhouse' });
 */
export type AnalyticsClientFactory = () => AnalyticsClient | Promise<AnalyticsClient>;
