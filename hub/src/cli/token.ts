/**
 * `npm run token -- --role ROLE --event ID [--sub NAME] [--gate ID] [--exhibitor ID] [--sponsor ID] [--ttl 12h]`
 * Mints a development token with the hub's HS256 secret (HUB_JWT_SECRET or DATA_DIR/jwt-secret).
 */
import { parseArgs } from 'node:util';
import { Claims, roles } from '@opshub/schema';
import { hs256Verifier, loadOrCreateSecret } from '../auth/token-verifier.ts';
import { ConfigError, loadConfig } from '../config.ts';

const usage = `usage: npm run token -- --role ${roles.join('|')} --event ID[,ID…]|* [--sub NAME] [--gate ID] [--exhibitor ID] [--sponsor ID] [--ttl 12h]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      event: { type: 'string', multiple: true },
      sub: { type: 'string' },
      gate: { type: 'string' },
      exhibitor: { type: 'string' },
      sponsor: { type: 'string' },
      ttl: { type: 'string', default: '12h' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(usage + '\n');
  const config = loadConfig(process.env);
  if (config.auth.kind !== 'hs256') throw new Error('HUB_JWKS_URL is set: tokens come from your identity provider, not from the hub');
  const events = (values.event ?? []).flatMap((e) => e.split(',')).filter(Boolean);
  const claims = Claims.safeParse({
    sub: values.sub ?? `${values.role ?? 'user'}-dev`,
    role: values.role,
    events,
    ...(values.gate && { gate: values.gate }),
    ...(values.exhibitor && { exhibitor: values.exhibitor }),
    ...(values.sponsor && { sponsor: values.sponsor }),
  });
  if (!claims.success) {
    throw new Error(`${claims.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('; ')}\n${usage}`);
  }
  if (!/^\d+[smhdw]$/.test(values.ttl!)) throw new Error(`--ttl: expected e.g. 30m, 12h or 7d\n${usage}`);
  const minter = hs256Verifier(config.auth.secret ?? (await loadOrCreateSecret(config.dataDir)));
  process.stdout.write((await minter.mint(claims.data, values.ttl)) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`token: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
