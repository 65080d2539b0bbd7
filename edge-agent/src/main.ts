/**
 * `opshub-edge` / `npm run edge -- --hub ws://HOST:8080 --event ID --gate ID (--token JWT | --token-file PATH | env OPSHUB_TOKEN) [--port 7070] [--data DIR] [--peer ws://HOST:PORT]…`
 */
import { OptionsError, parseAgentArgs, usage } from './agent-options.ts';
import { startAgent, type AgentLog } from './agent.ts';
import { DataDirLockedError } from './data-dir-lock.ts';
import { CorruptSnapshotError } from './disk-replica.ts';

const log: AgentLog = {
  info: (message) => process.stdout.write(`opshub-edge: ${message}\n`),
  warn: (message) => process.stderr.write(`opshub-edge: ${message}\n`),
};

async function main(): Promise<void> {
  // `npm run edge` runs in the workspace folder; relative --data paths mean the folder the user typed them in.
  if (process.env['INIT_CWD']) process.chdir(process.env['INIT_CWD']);
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) return void process.stdout.write(`${usage}\n`);
  const options = parseAgentArgs(argv, process.env);
  const agent = await startAgent(options, log);
  const { startup } = agent;
  const status = agent.status();
  log.info(
    `gate ${options.gate} (device ${agent.device}) of event ${options.event}: replica loaded in ${startup.ms.toFixed(0)} ms ` +
      `(${status.tickets} tickets, ${status.scans} scans, ${startup.logRecords} log records${startup.tornBytes ? `, ${startup.tornBytes} torn bytes dropped` : ''}), ready in ${startup.totalMs.toFixed(0)} ms`,
  );
  log.info(`listening on ${agent.url} (gate screen at ${agent.url}/, mesh at ws://…:${agent.port}/yjs/event/${options.event}/gate)`);
  log.info(`hub: ${options.hub ?? 'none'}; peers: ${options.peer.length > 0 ? options.peer.join(', ') : 'none'}; data: ${options.data}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: closing`);
    agent.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.warn(`close failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Started wrong for good (a gate the event does not have): say so and exit non-zero instead of retrying unseen.
  agent.onFatal((error) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`opshub-edge: ${error.message}\n`);
    agent.close().finally(() => process.exit(3));
  });
}

main().catch((error: unknown) => {
  const known = error instanceof OptionsError || error instanceof DataDirLockedError || error instanceof CorruptSnapshotError;
  process.stderr.write(`opshub-edge: ${known ? (error as Error).message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
