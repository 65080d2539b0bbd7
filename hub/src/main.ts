/**
 * `npm start`: the hub on the backends the environment chooses, until SIGTERM or SIGINT.
 */
import { createTokenVerifier } from './auth/token-verifier.ts';
import { composeBackends } from './compose.ts';
import { ConfigError, loadConfig } from './config.ts';
import { Hub } from './hub.ts';
import { createLogger } from './log.ts';
import { NativeBindingError, loadNativeUws } from './native-uws.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  loadNativeUws();
  const log = createLogger(config.logLevel);
  const verifier = await createTokenVerifier(config);
  const backends = await composeBackends(config, log);
  if (config.trustedProxies.length > 0) log.info({ trustedProxies: config.trustedProxies }, 'per-client limits read X-Forwarded-For from these proxies');
  const hub = new Hub({ backends, verifier, log, host: config.host, port: config.port, trustedProxies: config.trustedProxies, stripe: config.stripe });
  if (!config.stripe.secretKey) log.info('STRIPE_SECRET_KEY is not set: the box office sells for cash only');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    hub.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const { port } = await hub.start();
  const url = config.publicUrl ?? `http://localhost:${port}`;
  const signIn = verifier.mint
    ? `sign in (admin, 7 days): ${url}/?token=${await verifier.mint({ sub: 'admin', role: 'admin', events: ['*'] }, '7d')}`
    : `sign in with a token from your identity provider: ${url}/?token=JWT`;
  process.stdout.write(`\n  opshub is up on ${url}\n  ${signIn}\n\n`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof NativeBindingError) {
    process.stderr.write(`opshub: ${error.message}\n`);
  } else {
    process.stderr.write(`opshub: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
