import { createAnalytics } from './analytics/create-analytics.ts';
import { type Bus, type Retention, defaultRetention } from './bus/bus.ts';
import type { Config } from './config.ts';
import type { Backends } from './hub.ts';
import type { Logger } from './log.ts';
import type { Store } from './store/store.ts';

/**
 * The one place backends are chosen: each role gets its embedded default unless the configuration names a
 * distributed backend. Heavy clients are imported only when chosen.
 * @example const backends = await composeBackends(loadConfig(process.env), log);
 */
export async function composeBackends(config: Config, log: Logger): Promise<Backends> {
  const retention: Retention = { ...defaultRetention, maxBytes: config.replay.topicBytes };
  const bus: Bus = config.redisUrl
    ? new (await import('./bus/redis/redis-bus.ts')).RedisBus({ url: config.redisUrl, retention, log: log.child({ module: 'bus' }) })
    : new (await import('./bus/memory/memory-bus.ts')).MemoryBus({ retention, budgetBytes: config.replay.budgetBytes });
  const store: Store = config.databaseUrl
    ? new (await import('./store/postgres/postgres-store.ts')).PostgresStore({ url: config.databaseUrl })
    : new (await import('./store/pglite/pglite-store.ts')).PgliteStore({ dataDir: config.dataDir, template: config.pgliteTemplate, worker: config.pgliteWorker });
  const analytics = createAnalytics({ clickhouseUrl: config.clickhouseUrl, dataDir: config.dataDir });
  return { bus, store, analytics };
}
