/**
 * `npm start`: the hub on the backends the environment chooses, until SIGTERM or SIGINT.
 */
import { createTokenVerifier, loadOrCreateSecret } from './auth/token-verifier.ts';
import { parseRedisTarget } from './bus/redis/redis-target.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import type { WorkerAuth } from './workers/worker-protocol.ts';
import { createLogger } from './log.ts';
import { NativeBindingError, loadNativeUws } from './native-uws.ts';
import { VapidKeyError } from './streams/push/vapid-keys.ts';
import { PortInUseError, portIsFree, someoneListens } from './startup/port-probe.ts';
import { BackendUnreachableError, waitAnyReachable, waitReachable } from './startup/reachable.ts';
import { DataDirLockedError, MigrationError } from './store/errors.ts';

/** Errors whose message says all a person needs: printed as one line, without a stack. */
const plainErrors = [ConfigError, NativeBindingError, PortInUseError, BackendUnreachableError, DataDirLockedError, MigrationError, VapidKeyError];

/** What start-up is doing, on stderr, so a start that takes tens of seconds is never silent. */
function progress(step: string): void {
  process.stderr.write(`opshub: ${step}…\n`);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  loadNativeUws();
  const log = createLogger(config.logLevel);
  const verifier = await createTokenVerifier(config);
  // A taken port is refused before anything slow starts (see startup/port-probe.ts); Hub.start checks again.
  if (config.port !== 0 && !(await portIsFree(config.host, config.port)) && (await someoneListens(config.host, config.port))) {
    throw new PortInUseError(config.host, config.port);
  }
  // A distributed backend that is not there fails here in one line naming its variable, instead of in a driver's
  // retry loop (ioredis retries forever) or a stack trace from the migrator.
  if (config.databaseUrl) await waitReachable('DATABASE_URL', config.databaseUrl, 5432);
  if (config.redisUrl) {
    // A cluster URL lists seed nodes, which WHATWG URLs cannot parse; one reachable seed is enough.
    const target = parseRedisTarget(config.redisUrl);
    const variable = process.env.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
    if (target.kind === 'single') await waitReachable(variable, config.redisUrl, 6379);
    else await waitAnyReachable(variable, target.nodes);
  }
  // The hub and its backends load only now: a start refused above answers in a moment, not after loading chDB.
  const [{ composeBackends }, { Hub }, { pushSettings }] = await Promise.all([import('./compose.ts'), import('./hub.ts'), import('./streams/push/push-settings.ts')]);
  const push = await pushSettings(config);
  const backends = await composeBackends(config, log);
  if (config.trustedProxies.length > 0) log.info({ trustedProxies: config.trustedProxies }, 'per-client limits read X-Forwarded-For from these proxies');
  // Socket workers check tokens themselves (before the upgrade), so they get the verifier's parameters.
  const workers = config.hubWorkers > 1 ? { count: config.hubWorkers, auth: await workerAuth(config) } : undefined;
  const hub = new Hub({ backends, verifier, log, workers, host: config.host, port: config.port, trustedProxies: config.trustedProxies, stripe: config.stripe, push, analyticsRelay: { retentionMs: config.analyticsOutboxRetentionMs }, gateOfflineAfterMs: config.gateOfflineAfterMs, gateStalledAfterMs: config.gateStalledAfterMs, replay: config.replay });
  if (!config.stripe.secretKey) log.info('STRIPE_SECRET_KEY is not set: the box office sells for cash only');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, drainMs: config.drainMs }, 'shutting down');
    // With HUB_DRAIN_SECONDS, a SIGTERM first fails the health check for that long (a load balancer stops sending new
    // clients here) and only then closes the sockets, whose clients reconnect through the balancer and resume.
    if (signal === 'SIGTERM' && config.drainMs > 0) hub.beginDrain();
    const drained = signal === 'SIGTERM' ? new Promise((resolve) => setTimeout(resolve, config.drainMs)) : Promise.resolve();
    drained.then(() => hub.close()).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const started = Date.now();
  const { port } = await hub.start(progress);
  progress(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const url = config.publicUrl ?? `http://localhost:${port}`;
  const signIn = verifier.mint
    ? `sign in (admin, 7 days): ${url}/?token=${await verifier.mint({ sub: 'admin', role: 'admin', events: ['*'] }, '7d')}`
    : `sign in with a token from your identity provider: ${url}/?token=JWT`;
  process.stdout.write(`\n  opshub is up on ${url}\n  ${signIn}\n\n`);
}

async function workerAuth(config: Config): Promise<WorkerAuth> {
  const { auth } = config;
  return auth.kind === 'jwks' ? auth : { kind: 'hs256', secret: auth.secret ?? (await loadOrCreateSecret(config.dataDir)) };
}

main().catch((error: unknown) => {
  if (plainErrors.some((kind) => error instanceof kind)) {
    process.stderr.write(`opshub: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`opshub: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
