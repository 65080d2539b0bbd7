import { createServerClient } from '../../src/analytics/server-client.ts';
import { describeWithService } from '../support/services.ts';
import { analyticsContract } from './analytics-contract.ts';

// The tests keep apart by event id, so a shared server's `events` table (and earlier runs' rows) does not disturb them.
describeWithService('CLICKHOUSE_URL', 'analytics on a ClickHouse server', (url) => {
  analyticsContract({ kind: 'clickhouse', client: () => createServerClient({ url }) });
});
