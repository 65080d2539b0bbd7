import { replayLimits } from '@opshub/schema';
import { z } from 'zod';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseAddressRange } from './transport/client-address.ts';
import { clusterUrlFromNodes, parseRedisTarget } from './bus/redis/redis-target.ts';
import { parseAllowedOrigin } from './streams/push/endpoint-guard.ts';
import { checkVapidKeyPair } from './streams/push/vapid-keys.ts';

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalUrl = (protocols: string[]) =>
  z.preprocess(
    blankToUndefined,
    z
      .url({ message: 'expected a URL' })
      .refine((u) => URL.canParse(u) && protocols.includes(new URL(u).protocol), { message: `expected a ${protocols.join(' or ')} URL` })
      .optional(),
  );
const optionalString = z.preprocess(blankToUndefined, z.string().min(1).optional());
/** A bus URL: one Redis (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://host:port,host:port`). */
const redisUrl = z.preprocess(
  blankToUndefined,
  z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseRedisTarget(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),
);
/** `REDIS_CLUSTER_NODES`: `host:port,host:port`, the seed nodes of a Redis Cluster, as the cluster URL they mean. */
const redisClusterNodes = z.preprocess(
  blankToUndefined,
  z
    .string()
    .transform((value, ctx) => {
      try {
        return clusterUrlFromNodes(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
);
/** `TRUSTED_PROXIES`: comma-separated addresses and CIDR ranges, each checked; canonical `address/prefix` strings. */
const addressRanges = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const ranges: string[] = [];
    for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
      const range = parseAddressRange(entry);
      if (range) ranges.push(`${range.address}/${range.prefix}`);
      else ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR range (expected a comma-separated list such as 10.0.0.5, 10.0.0.0/8, fd00::/8)` });
    }
    return ranges;
  });

/** `PUSH_ALLOWED_ORIGINS`: comma-separated https origins the hub may send pushes to besides the known push services. */
const allowedOrigins = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const origins: string[] = [];
    for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
      try {
        origins.push(parseAllowedOrigin(entry));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }
    return origins;
  });
/** `VAPID_SUBJECT`: how push services reach the operator (RFC 8292 §2.1). */
const vapidSubject = z.preprocess(
  blankToUndefined,
  z
    .string()
    .refine((s) => URL.canParse(s) && ['mailto:', 'https:'].includes(new URL(s).protocol), { message: 'expected a mailto: or https: URL (how a push service contacts you)' })
    .optional(),
);

const Env = z
  .object({
    PORT: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(65535).default(8080)),
    HOST: z.preprocess(blankToUndefined, z.string().min(1).default('0.0.0.0')),
    PUBLIC_URL: optionalUrl(['http:', 'https:']),
    DATA_DIR: z.preprocess(blankToUndefined, z.string().min(1).default('./data')),
    DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
    REDIS_URL: redisUrl,
    REDIS_CLUSTER_NODES: redisClusterNodes,
    CLICKHOUSE_URL: optionalUrl(['http:', 'https:']),
    HUB_JWT_SECRET: z.preprocess(blankToUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
    HUB_JWKS_URL: optionalUrl(['http:', 'https:']),
    HUB_JWT_ISSUER: optionalString,
    HUB_JWT_AUDIENCE: optionalString,
    STRIPE_SECRET_KEY: optionalString,
    STRIPE_WEBHOOK_SECRET: optionalString,
    STRIPE_API_URL: optionalUrl(['http:', 'https:']),
    VAPID_PUBLIC_KEY: optionalString,
    VAPID_PRIVATE_KEY: optionalString,
    VAPID_SUBJECT: vapidSubject,
    PUSH_ALLOWED_ORIGINS: allowedOrigins,
    PUSH_CONCURRENCY: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(1000).default(64)),
    TRUSTED_PROXIES: addressRanges,
    PGLITE_TEMPLATE: optionalString,
    PGLITE_WORKER: z.preprocess(blankToUndefined, z.enum(['0', '1']).default('1')),
    HUB_WORKERS: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(256).optional()),
    HUB_DRAIN_SECONDS: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(600).default(0)),
    GATE_OFFLINE_AFTER: z.preprocess(blankToUndefined, z.coerce.number().positive().max(86_400).default(30)),
    GATE_STALLED_AFTER: z.preprocess(blankToUndefined, z.coerce.number().positive().max(86_400).default(60)),
    HUB_REPLAY_BUDGET_MB: z.preprocess(blankToUndefined, z.coerce.number().positive().max(1024 * 1024).default(replayLimits.budgetBytes / 1024 / 1024)),
    HUB_REPLAY_TOPIC_MB: z.preprocess(blankToUndefined, z.coerce.number().positive().max(1024 * 1024).default(replayLimits.topicBytes / 1024 / 1024)),
    ANALYTICS_OUTBOX_RETENTION_HOURS: z.preprocess(blankToUndefined, z.coerce.number().positive().max(24 * 365).default(48)),
    LOG_LEVEL: z.preprocess(
      blankToUndefined,
      z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    ),
  })
  .superRefine((env, ctx) => {
    const jwks = [env.HUB_JWKS_URL, env.HUB_JWT_ISSUER, env.HUB_JWT_AUDIENCE];
    if (jwks.some(Boolean) && !jwks.every(Boolean)) {
      for (const name of ['HUB_JWKS_URL', 'HUB_JWT_ISSUER', 'HUB_JWT_AUDIENCE'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'required when any of HUB_JWKS_URL, HUB_JWT_ISSUER, HUB_JWT_AUDIENCE is set' });
      }
    }
    if (env.REDIS_URL && env.REDIS_CLUSTER_NODES) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'set either REDIS_URL or REDIS_CLUSTER_NODES, not both' });
    }
    if (env.HUB_JWKS_URL && env.HUB_JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['HUB_JWT_SECRET'], message: 'set either HUB_JWT_SECRET or HUB_JWKS_URL, not both' });
    }
    if (Boolean(env.VAPID_PUBLIC_KEY) !== Boolean(env.VAPID_PRIVATE_KEY)) {
      const missing = env.VAPID_PUBLIC_KEY ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY together (or neither: a pair is generated into DATA_DIR)' });
    } else if (env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY) {
      try {
        checkVapidKeyPair({ publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY });
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['VAPID_PRIVATE_KEY'], message: (error as Error).message });
      }
    }
  });

/** The hub's whole configuration, parsed once at start and frozen. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Where people reach the hub (`PUBLIC_URL`); the printed sign-in link uses http://localhost:PORT when unset. */
  readonly publicUrl: string | undefined;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** `redis://…` for one Redis, `redis+cluster://…` for a Redis Cluster (from `REDIS_URL` or `REDIS_CLUSTER_NODES`). */
  readonly redisUrl: string | undefined;
  readonly clickhouseUrl: string | undefined;
  readonly auth:
    | { readonly kind: 'hs256'; readonly secret: string | undefined }
    | { readonly kind: 'jwks'; readonly jwksUrl: string; readonly issuer: string; readonly audience: string };
  /**
   * Stripe for the box office: the secret key (card sales and refunds; without it the box office sells for cash),
   * the webhook signing secret, and `STRIPE_API_URL`, where the SDK sends its requests (unset: Stripe's own API; a
   * local stand-in in tests).
   */
  readonly stripe: StripeConfig;
  readonly vapid: { readonly publicKey: string | undefined; readonly privateKey: string | undefined; readonly subject: string | undefined };
  /**
   * Web push: origins besides the known push services that pushes may be sent to (`PUSH_ALLOWED_ORIGINS`, as
   * origins), and how many pushes one hub process has in flight at once (`PUSH_CONCURRENCY`).
   */
  readonly push: { readonly allowedOrigins: readonly string[]; readonly concurrency: number };
  /**
   * Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`), as `address/prefix`; empty: nobody's, and
   * per-client limits key on the socket's peer. See transport/client-address.ts.
   */
  readonly trustedProxies: readonly string[];
  /**
   * `HUB_WORKERS` (default: the cores this process may use, `os.availableParallelism()`): threads serving the public
   * port. 1 is the single-thread hub; more run socket workers (workers/socket-workers.ts) while the Store, commands and
   * sequencing stay on the main thread. See docs/api.md, "Socket workers".
   */
  readonly hubWorkers: number;
  /** `GATE_OFFLINE_AFTER` (seconds, default 30): how long a gate's presence may be gone before `gate_offline` is raised */
  readonly gateOfflineAfterMs: number;
  /** `GATE_STALLED_AFTER` (seconds, default 60): how long an online gate's pending scans may fail to drain before `gate_stalled` */
  readonly gateStalledAfterMs: number;
  /** A migrated empty database a new PGlite database starts from (`PGLITE_TEMPLATE`; the test run sets it). */
  readonly pgliteTemplate: string | undefined;
  /** `PGLITE_WORKER` (`1` default, `0`): PGlite in a worker thread, off the thread that serves the sockets */
  readonly pgliteWorker: boolean;
  /**
   * `HUB_DRAIN_SECONDS` (default 0): on SIGTERM, how long `/healthz` answers 503 "draining" while the hub keeps serving,
   * so a load balancer's health check takes it out of rotation before its sockets close (`npm run cluster` sets 3).
   */
  readonly drainMs: number;
  /**
   * Replay history's byte budget: `HUB_REPLAY_BUDGET_MB` (64) for the in-process bus's frames across all topics,
   * `HUB_REPLAY_TOPIC_MB` (8) for one topic's on either bus. A `since` beyond what fits gets `reset`.
   */
  readonly replay: { readonly budgetBytes: number; readonly topicBytes: number };
  /** How long the Store keeps analytics outbox rows (`ANALYTICS_OUTBOX_RETENTION_HOURS`, 48): the bound while ClickHouse is down. */
  readonly analyticsOutboxRetentionMs: number;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

export interface StripeConfig {
  readonly secretKey: string | undefined;
  readonly webhookSecret: string | undefined;
  readonly apiUrl: string | undefined;
}

/** A configuration value that cannot be used; the message names each variable and what is wrong with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/**
 * Parses the hub's configuration from the environment.
 * @example const config = loadConfig(process.env); // throws ConfigError naming e.g. "PORT: expected a number"
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), message: issue.message })),
    );
  }
  const e = parsed.data;
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL ?? e.REDIS_CLUSTER_NODES,
    clickhouseUrl: e.CLICKHOUSE_URL,
    auth: e.HUB_JWKS_URL
      ? { kind: 'jwks', jwksUrl: e.HUB_JWKS_URL, issuer: e.HUB_JWT_ISSUER!, audience: e.HUB_JWT_AUDIENCE! }
      : { kind: 'hs256', secret: e.HUB_JWT_SECRET },
    stripe: { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiUrl: e.STRIPE_API_URL },
    vapid: { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY, subject: e.VAPID_SUBJECT },
    push: { allowedOrigins: e.PUSH_ALLOWED_ORIGINS, concurrency: e.PUSH_CONCURRENCY },
    trustedProxies: e.TRUSTED_PROXIES,
    gateOfflineAfterMs: e.GATE_OFFLINE_AFTER * 1000,
    gateStalledAfterMs: e.GATE_STALLED_AFTER * 1000,
    pgliteTemplate: e.PGLITE_TEMPLATE,
    pgliteWorker: e.PGLITE_WORKER === '1',
    drainMs: e.HUB_DRAIN_SECONDS * 1000,
    replay: { budgetBytes: Math.round(e.HUB_REPLAY_BUDGET_MB * 1024 * 1024), topicBytes: Math.round(e.HUB_REPLAY_TOPIC_MB * 1024 * 1024) },
    // Fan-out is the kernel's send() on one core per thread (issue #19): one socket worker per core the process may use.
    hubWorkers: e.HUB_WORKERS ?? availableParallelism(),
    analyticsOutboxRetentionMs: e.ANALYTICS_OUTBOX_RETENTION_HOURS * 3_600_000,
    logLevel: e.LOG_LEVEL,
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
