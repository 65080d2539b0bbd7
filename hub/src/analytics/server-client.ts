import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { AnalyticsClient } from './analytics-client.ts';

export interface ServerClientOptions {
  /** `http[s]://[user:password@]host:port[/database]`, as in `CLICKHOUSE_URL`. */
  url: string;
  /** Per request; an insert that takes longer counts as failed and is retried (default 30,000 ms). */
  requestTimeoutMs?: number;
}

/**
 * A `@clickhouse/client` for a ClickHouse server over HTTP. User, password and database come from the URL.
 *
 * @example
 * const client = createServerClient({ url: 'http://default:secret@127.0.0.1:8123/opshub' });
 */
export function createServerClient(options: ServerClientOptions): AnalyticsClient {
  return createClient({
    url: options.url,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    // Batches are thousands of similar JSON rows: compressing them costs little CPU and saves most of the bytes.
    compression: { request: true, response: true },
    // Every failed request is already counted and handed to ClickHouseAnalytics' `onError`, once per attempt: the
    // client's own console logging would print each of them a second time, outside the hub's logger.
    log: { level: ClickHouseLogLevel.OFF },
  });
}
