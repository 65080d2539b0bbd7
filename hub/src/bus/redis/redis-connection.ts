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
  // ioredis opens a node's connection on its first command, and with the offline queue off it refuses every
  // command for a node whose connection is still opening ("Connection is closed."): the first burst of publishes
  // on a fresh bus failed by the hundred that way, and so did the first publishes to a replica just promoted.
  // Open each node's connection as soon as ioredis learns of the node, once the cluster is ready: during its own
  // start ioredis sends its ready check (CLUSTER INFO) to a node it expects to find unopened, and one already
  // opening makes that check fail (see connectCluster). everyNodeOpen() opens the first ones.
  client.on('+node', (node: Redis) => {
    if (client.status === 'ready' && node.status === 'wait') node.connect().catch(() => {}); // failures show as 'close'/'end'
  });
  return client;
}

/**
 * `cluster.connect()`, except that it also settles when ioredis's first ready check failed and a later attempt
 * succeeded: ioredis then reconnects by itself but never settles the promise of the first `connect()`.
 * @example await connectCluster(cluster);
 */
export function connectCluster(cluster: Cluster): Promise<void> {
  return new Promise((resolve, reject) => {
    const ready = () => resolve();
    cluster.once('ready', ready);
    cluster.connect().then(() => {
      cluster.off('ready', ready);
      resolve();
    }, (err: unknown) => {
      cluster.off('ready', ready);
      reject(err);
    });
  });
}

/**
 * Resolves once every node connection of `cluster` is open (or has given up: a node that is down must not hold up
 * the start, the commands for it fail fast as for any outage). Call after `cluster.connect()`.
 * @example await cluster.connect(); await everyNodeOpen(cluster, 5000);
 */
export async function everyNodeOpen(cluster: Cluster, timeoutMs: number): Promise<void> {
  await Promise.all(
    cluster.nodes('all').map(
      (node) =>
        new Promise<void>((resolve) => {
          if (node.status === 'ready' || node.status === 'end') return resolve();
          const done = () => {
            clearTimeout(timer);
            node.off('ready', done);
            node.off('end', done);
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          node.once('ready', done);
          node.once('end', done);
          if (node.status === 'wait') node.connect().catch(() => {});
        }),
    ),
  );
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
