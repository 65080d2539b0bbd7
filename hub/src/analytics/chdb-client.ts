import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { AnalyticsClient } from './analytics-client.ts';

export interface ChdbClientOptions {
  /** The data folder, created when missing. One process can hold only one chDB folder open at a time. */
  path: string;
}

/**
 * A `@clickhouse/client` running on chDB, the ClickHouse engine inside this process: the same client code as against
 * a server, with the wire replaced by an in-process connection.
 *
 * chDB binds one data folder per process: a second client on the same folder shares the engine, a client on another
 * folder is refused until every client on the first one is closed.
 *
 * @example
 * const client = createChdbClient({ path: join(dataDir, 'clickhouse') });
 * const rows = await (await client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json();
 */
export function createChdbClient(options: ChdbClientOptions): AnalyticsClient {
  // chdb types its connection against @clickhouse/client-common 1.23.0, while @clickhouse/client 1.23.1 bundles its
  // own copy of those types, so the two `Connection` declarations differ on paper (settings keys) though not at run
  // time: the client only calls the methods both declare.
  const connection = createChdbConnection({ path: options.path }) as unknown as ClientConnection;
  return createClient({ connection });
}

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;
