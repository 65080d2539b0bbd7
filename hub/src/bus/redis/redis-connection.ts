import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { BusLog } from '../bus-log.ts';
import type { RedisTarget } from './redis-target.ts';
import { backoffMs } from './retry-gate.ts';

/** Where one connection goes: a `redis://` URL, or a cluster node with the cluster's credentials. */
export type ConnectionTarget = string | (RedisOptions & { host: string; port: number });

/**
 * Opens (lazily, on `connect()`) one of the bus's two connections, configured so an outage fails fast:
 *
 * - no offline queue and no retries per request: while Redis is unreachable a command rejects at once, and a
 *   command in flight when the link drops rejects instead of being replayed later (a replayed publish could be
 *   applied twice);
 * - no automatic resubscribe: the bus resubscribes itself so it knows when the subscription is back and can fill
 *   the gap from history at exactly that point;
 * - reconnects forever with a capped backoff, and logs each outage once rather than once per attempt.
 *
 * @example const sub = openRedis('redis://127.0.0.1:6379', 'sub', nodeId, log);
 */
export function openRedis(target: ConnectionTarget, role: 'cmd' | 'sub', nodeId: string, log: BusLog): Redis {
  const options: RedisOptions = {
    lazyConnect: true,
    connectionName: connectionName(nodeId, role),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: backoffMs,
    // A link that hangs rather than drops must not hang publishes with it.
    commandTimeout: 5_000,
    connectTimeout: 5_000,
  };
  const client = typeof target === 'string' ? new Redis(target, options) : new Redis({ ...target, ...options });
  reportOutages(client, role, nodeId, log);
  return client;
}

/** Shows in CLIENT LIST, so an operator can tell which hub holds which connection. */
function connectionName(nodeId: string, role: string): string {
  return `opshub:${nodeId.replace(/[^\w.:/-]/g, '_')}:${role}`;
}

/** Logs each outage of `client` once (not once per reconnect attempt), and its end. */
function reportOutages(client: Redis | Cluster, role: string, nodeId: string, log: BusLog): void {
  let lastError: unknown;
  let down = false;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  client.on('close', () => {
    if (down || client.status === 'end') return;
    down = true;
    log.warn({ err: lastError, role, nodeId }, 'redis bus connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (down) log.info({ role, nodeId }, 'redis bus connection restored');
    down = false;
    lastError = undefined;
  });
}

/**
 * The command connection to a Redis Cluster: slot routing, MOVED/ASK redirects and topology refreshes are ioredis's,
 * configured like {@link openRedis} so nothing is queued while a node is away and nothing is sent twice:
 * a command whose connection closed in flight, or that met CLUSTERDOWN (a failover under way), rejects instead of
 * being retried, because a publish may already have run. MOVED, ASK and TRYAGAIN are retried: those never ran.
 *
 * @example const cmd = openCluster(parseRedisTarget('redis+cluster://10.0.0.1:7000') as ClusterTarget, nodeId, log);
 */
export function openCluster(target: Extract<RedisTarget, { kind: 'cluster' }>, nodeId: string, log: BusLog): Cluster {
  const client = new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      retryDelayOnTryAgain: 50,
      clusterRetryStrategy: backoffMs,
      slotsRefreshTimeout: 2_000,
      redisOptions: {
        ...clusterNodeOptions(target),
        connectionName: connectionName(nodeId, 'cmd'),
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: 5_000,
        connectTimeout: 5_000,
      },
    },
  );
  reportOutages(client, 'cmd', nodeId, log);
  return client;
}

/** The credentials and TLS choice every connection to a node of `target` carries. */
export function clusterNodeOptions(target: Extract<RedisTarget, { kind: 'cluster' }>): RedisOptions {
  return {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
  };
}

/**
 * Closes a connection for good: QUIT when it is up (so replies in flight arrive), otherwise drop it and its
 * reconnect timer at once.
 * @example await closeRedis(client);
 */
export async function closeRedis(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through: the link went away while quitting
    }
  }
  client.disconnect();
}
