/**
 * Builds the console when `console/build` is missing or older than anything it is built from, and does nothing
 * otherwise (a fraction of a second), so `npm start` always serves a current console without paying for a build
 * on every start. Run by `npm start` and by the browser tests.
 *
 * Sources: `console/src`, `console/static`, the console's config files, `schema/src` (the console imports the
 * contract's zod schemas) and `package-lock.json` (a dependency upgrade changes the bundle).
 *
 * Two processes may ask at once (two test files, or a test run next to `npm start`): a lock file
 * (`console/.build.lock`) makes one build while the other waits for it.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolderLockedError, lockFolder } from '@opshub/platform/folder-lock';

const consoleDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = join(consoleDir, '..');
export const buildDir = join(consoleDir, 'build');
const stamp = join(buildDir, 'index.html');
const lockFile = join(consoleDir, '.build.lock');

const sources = [
  join(consoleDir, 'src'),
  join(consoleDir, 'static'),
  join(consoleDir, 'svelte.config.js'),
  join(consoleDir, 'vite.config.ts'),
  join(consoleDir, 'package.json'),
  join(repoDir, 'schema', 'src'),
  join(repoDir, 'package-lock.json'),
];

/** A build that failed; its output is in the message. */
export class ConsoleBuildError extends Error {
  override readonly name = 'ConsoleBuildError';
}

/**
 * Builds the console if needed; resolves with what it did.
 * @example await ensureConsoleBuild(); // 'fresh' when nothing changed since the last build
 */
export async function ensureConsoleBuild(options: { log?: (line: string) => void; lockTimeoutMs?: number } = {}): Promise<'fresh' | 'built'> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (await isFresh()) return 'fresh';
  const lock = await lockFolder(lockFile, { waitMs: options.lockTimeoutMs ?? 5 * 60_000 }).catch((error: unknown) => {
    if (!(error instanceof FolderLockedError)) throw error;
    throw new ConsoleBuildError(`another console build (process ${error.owner}) holds ${lockFile}; delete it if no build is running`);
  });
  try {
    // Another process may have built it while we waited for the lock.
    if (await isFresh()) return 'fresh';
    log('opshub: building the console (once; again only when its sources change)…');
    const started = Date.now();
    await runViteBuild();
    log(`opshub: console built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 'built';
  } finally {
    await lock.release();
  }
}

/** True when the build exists and nothing it is built from changed after it. */
export async function isFresh(): Promise<boolean> {
  const built = await stat(stamp).catch(() => undefined);
  if (!built) return false;
  const newest = await newestMtime(sources);
  return newest <= built.mtimeMs;
}

async function newestMtime(paths: readonly string[]): Promise<number> {
  let newest = 0;
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      const entries = await readdir(path, { withFileTypes: true });
      newest = Math.max(newest, info.mtimeMs, await newestMtime(entries.filter((e) => e.name !== 'node_modules').map((e) => join(path, e.name))));
    } else {
      newest = Math.max(newest, info.mtimeMs);
    }
  }
  return newest;
}

function runViteBuild(): Promise<void> {
  // vite's own CLI, in the console folder: no npm in between, so its output and exit code are ours.
  const vite = join(dirname(createRequire(join(consoleDir, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: consoleDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new ConsoleBuildError(`the console build failed (vite exited with ${code}):\n${output}`)),
    );
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureConsoleBuild().catch((error: unknown) => {
    process.stderr.write(`opshub: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
