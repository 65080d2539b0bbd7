import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const mainScript = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/**
 * The test runner's environment minus backend choices: a hub process gets only the backends a test names. It runs
 * one thread (`HUB_WORKERS=1`, where `npm start` defaults to the core count) unless the test names a count, or the
 * run sets `TEST_HUB_WORKERS`.
 */
function baseEnv(): NodeJS.ProcessEnv {
  const { DATABASE_URL, REDIS_URL, CLICKHOUSE_URL, ...rest } = process.env;
  return { HUB_WORKERS: process.env.TEST_HUB_WORKERS ?? '1', ...rest };
}

export interface HubProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** stdout and stderr lines so far */
  readonly output: string[];
  /** resolves with the exit code (or signal) */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `hub/src/main.ts` as its own process (what `npm start` runs), resolving once it listens.
 * PORT defaults to 0; the port is read from the "hub listening" log line, readiness from the sign-in line (once both
 * have been seen, in whichever order they arrive).
 */
export function startHubProcess(env: Record<string, string>, timeoutMs = 75_000, nodeArgs: readonly string[] = [], launcher: readonly string[] = []): Promise<HubProcess> {
  // nodeArgs: flags Node refuses in NODE_OPTIONS, such as --cpu-prof. launcher: a command that execs the rest, such as
  // `ip netns exec NS` (the child is then the hub itself).
  const [command, ...launcherArgs] = [...launcher, process.execPath];
  const child = spawn(command!, [...launcherArgs, ...nodeArgs, '--import', 'tsx', mainScript], {
    env: { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub did not start within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`hub exited with ${signal ?? code} before listening:\n${output.join('\n')}`), { code, signal, output }));
    });
    let port = 0;
    let signInPrinted = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.includes('"hub listening"')) port = (JSON.parse(line) as { port: number }).port;
      // Ready once the sign-in link is printed: the last thing main.ts does at start. The two lines may arrive in
      // either order: pino writes its log line through the thread pool, the sign-in link is written directly.
      if (line.trim().startsWith('sign in')) signInPrinted = true;
      if (!(port && signInPrinted)) return;
      clearTimeout(timer);
      resolve({
        child,
        port,
        wsUrl: `ws://127.0.0.1:${port}/ws`,
        httpUrl: `http://127.0.0.1:${port}`,
        output,
        exited,
        stop(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
  });
}

/** Runs main.ts expecting it to refuse to start; resolves with its exit code and output. */
export function runHubExpectingFailure(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainScript], {
    env: { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, output }))));
}
