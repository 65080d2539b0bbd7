/** One Redis node's address. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the Redis bus connects: one server (`redis://`, `rediss://`, handed to ioredis as is) or a Redis Cluster
 * reached through any of its seed nodes (`redis+cluster://`, `rediss+cluster://`).
 */
export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly RedisNode[];
      readonly username: string | undefined;
      readonly password: string | undefined;
      readonly tls: boolean;
    };

/** A Redis URL the bus cannot use; the message says what is wrong and what shape is expected. */
export class RedisTargetError extends Error {
  override readonly name = 'RedisTargetError';
}

const clusterShape = 'redis+cluster://[user[:password]@]host:port[,host:port…]';

/**
 * Reads a bus URL. A cluster URL lists seed nodes separated by commas (any one reachable node is enough; the rest
 * of the cluster is discovered from it), which WHATWG URLs cannot parse, so it is read here by hand.
 *
 * @example parseRedisTarget('redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7000');
 * // { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }], password: 'secret', … }
 */
export function parseRedisTarget(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return { kind: 'single', url };
  if (scheme !== 'redis+cluster' && scheme !== 'rediss+cluster') {
    throw new RedisTargetError(`expected a redis://, rediss:// or ${clusterShape} URL, got "${redact(url)}"`);
  }
  let rest = url.slice(scheme.length + 3).replace(/\/$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1)) || undefined;
  }
  if (rest.includes('/') || rest.includes('?')) throw new RedisTargetError(`a cluster URL has no database or options (${clusterShape}), got "${redact(url)}"`);
  const nodes = rest.split(',').map((entry) => parseNode(entry.trim(), url));
  return { kind: 'cluster', nodes, username, password, tls: scheme === 'rediss+cluster' };
}

/**
 * `REDIS_CLUSTER_NODES` (`host:port,host:port`) as the cluster URL it means.
 * @example clusterUrlFromNodes('r1:7000, r2:7000'); // 'redis+cluster://r1:7000,r2:7000'
 */
export function clusterUrlFromNodes(list: string): string {
  const nodes = list.split(',').map((entry) => entry.trim()).filter(Boolean);
  const url = `redis+cluster://${nodes.join(',')}`;
  parseRedisTarget(url); // validates every entry
  return url;
}

function parseNode(entry: string, url: string): RedisNode {
  // host:port, or [v6 address]:port; the port is required so a seed list cannot silently point at 6379 by mistake.
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/i.exec(entry);
  const port = Number(match?.[3]);
  if (!match || !(port > 0 && port < 65536)) {
    throw new RedisTargetError(`"${entry}" in "${redact(url)}" is not host:port (${clusterShape})`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

/** The URL without its password, for error messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}
