import { join } from 'node:path';
import type { Analytics } from './analytics.ts';
import { ClickHouseAnalytics, type ClickHouseAnalyticsOptions } from './clickhouse-analytics.ts';

export interface CreateAnalyticsOptions extends Omit<ClickHouseAnalyticsOptions, 'kind' | 'client'> {
  /** `CLICKHOUSE_URL`: a ClickHouse server when set, chDB otherwise. */
  clickhouseUrl?: string | undefined;
  /** `DATA_DIR`: chDB keeps its data in `<dataDir>/clickhouse`. */
  dataDir: string;
}

/**
 * The analytics backend the configuration asks for: a ClickHouse server when `clickhouseUrl` is set, chDB in
 * `<dataDir>/clickhouse` otherwise. The client module is imported at `start()`, so the hub never loads chDB's native
 * engine when it talks to a server.
 *
 * @example
 * const analytics = createAnalytics({ clickhouseUrl: config.CLICKHOUSE_URL, dataDir: config.DATA_DIR });
 * await analytics.start();
 */
export function createAnalytics(options: CreateAnalyticsOptions): Analytics {
  const { clickhouseUrl, dataDir, ...tuning } = options;
  if (clickhouseUrl) {
    return new ClickHouseAnalytics({
      ...tuning,
      kind: 'clickhouse',
      client: async () => (await import('./server-client.ts')).createServerClient({ url: clickhouseUrl }),
    });
  }
  return new ClickHouseAnalytics({
    ...tuning,
    kind: 'chdb',
    client: async () => (await import('./chdb-client.ts')).createChdbClient({ path: join(dataDir, 'clickhouse') }),
  });
}
