/**
 * `npm run cluster`: N hub processes (default 3) on this machine's PostgreSQL and Redis behind HAProxy, printing the
 * one URL to use. Ctrl-C stops HAProxy and drains every hub. A hub that dies is started again.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/opshub REDIS_URL=redis://127.0.0.1:6379 npm run cluster -- --hubs 3 --port 8080
 */
import { parseArgs } from 'node:util';
import { ensureConsoleBuild } from '../../../console/scripts/ensure-build.ts';
import { haproxyInstalled, HubCluster } from './hub-cluster.ts';

const usage = 'usage: npm run cluster -- [--hubs N] [--port PORT] [--host HOST] [--dir FOLDER]   (DATABASE_URL and REDIS_URL must be set)';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { hubs: { type: 'string', default: '3' }, port: { type: 'string', default: '8080' }, host: { type: 'string', default: '0.0.0.0' }, dir: { type: 'string', default: './data/cluster' }, help: { type: 'boolean' } },
  });
  if (values.help) return void process.stdout.write(`${usage}\n`);
  const hubs = Number(values.hubs);
  const port = Number(values.port);
  if (!Number.isInteger(hubs) || hubs < 1 || hubs > 32) fail(`--hubs: expected 1 to 32, got "${values.hubs}"`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port: expected a port number, got "${values.port}"`);
  const databaseUrl = process.env.DATABASE_URL?.trim();
  const redisUrl = process.env.REDIS_URL?.trim();
  // Several hubs share one system of record and one bus: the embedded defaults are per process and cannot be shared.
  if (!databaseUrl) fail('DATABASE_URL is not set: the hubs of a cluster share one PostgreSQL (for example postgres://postgres@127.0.0.1:5432/opshub)');
  if (!redisUrl) fail('REDIS_URL is not set: the hubs of a cluster share one Redis (for example redis://127.0.0.1:6379)');
  if (!haproxyInstalled()) fail('HAProxy is not installed: apt-get install haproxy');

  const log = (line: string) => process.stderr.write(`cluster: ${line}\n`);
  await ensureConsoleBuild({ log });
  const cluster = await HubCluster.start({ hubs, port, host: values.host, dir: values.dir, databaseUrl, redisUrl, restartHubs: true, log });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log('stopping: HAProxy takes each hub out of rotation while it drains');
    cluster.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const lines = [
    '',
    `  opshub cluster is up on ${cluster.url}  (${hubs} hubs behind HAProxy; use only this URL)`,
    ...(cluster.signIn ? [`  ${cluster.signIn}`] : []),
    `  hubs: ${cluster.hubs.map((h) => `${h.name} ${h.url}`).join(', ')}`,
    `  HAProxy admin socket: ${cluster.statsSocket}  (echo "show stat" | socat - ${cluster.statsSocket})`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function fail(message: string): never {
  process.stderr.write(`opshub cluster: ${message}\n${usage}\n`);
  process.exit(1);
}

main().catch((error: unknown) => {
  process.stderr.write(`opshub cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
