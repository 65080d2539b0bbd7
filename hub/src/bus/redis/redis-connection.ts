import { Redis } from 'ioredis';
import type { BusLog } from '../bus-log.ts';
import { backoffMs } from './retry-gate.ts';

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
export function openRedis(url: string, role: 'cmd' | 'sub', nodeId: string, log: BusLog): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    // Shows in CLIENT LIST, so an operator can tell which hub holds which connection.
    connectionName: `opshub:${nodeId.replace(/[^\w.:/-]/g, '_')}:${role}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: backoffMs,
    // A link that hangs rather than drops must not hang publishes with it.
    commandTimeout: 5_000,
    connectTimeout: 5_000,
  });
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
  return client;
}

/**
 * Closes a connection for good: QUIT when it is up (so replies in flight arrive), otherwise drop it and its
 * reconnect timer at once.
 * @example await closeRedis(client);
 */
export async function closeRedis(client: Redis): Promise<void> {
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
