import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHubExpectingFailure, startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { minter, testSecret } from '../support/test-hub.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** What a new user meets in the first hour: refusals that say what is wrong in one line, a start that talks. */
describe('the first hour', () => {
  let dir: string;
  let first: HubProcess | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opshub-first-'));
    first = await startHubProcess({ DATA_DIR: join(dir, 'first'), HUB_JWT_SECRET: testSecret });
  }, 120_000);
  afterAll(async () => {
    await first?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('says what start-up is doing while it takes its time', () => {
    const output = first!.output.join('\n');
    for (const step of ['opening the database (pglite) and applying migrations', 'connecting the bus (memory)', 'starting analytics (chdb)', 'ready in']) {
      expect(output).toContain(`opshub: ${step}`);
    }
  });

  it('refuses a second hub on a taken port, naming the port, instead of sharing it through SO_REUSEPORT', async () => {
    const port = String(first!.port);
    const second = await runHubExpectingFailure({ PORT: port, DATA_DIR: join(dir, 'second'), HUB_JWT_SECRET: testSecret });
    expect(second.code).toBe(1);
    expect(second.output).toContain(`opshub: port ${port} is already in use`);
    expect(second.output).not.toMatch(/^\s+at /m);
    // The first hub still answers every request (nothing else took half of its connections).
    for (let i = 0; i < 5; i++) expect((await fetch(`${first!.httpUrl}/healthz`)).status).toBe(200);
  });

  it('names the variable and address of an unreachable database or Redis, and a locked DATA_DIR, in one line without a stack', async () => {
    const [database, redis, locked] = await Promise.all([
      runHubExpectingFailure({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test', DATA_DIR: join(dir, 'db') }, 90_000),
      runHubExpectingFailure({ REDIS_URL: 'redis://127.0.0.1:1', DATA_DIR: join(dir, 'redis') }, 90_000),
      runHubExpectingFailure({ DATA_DIR: join(dir, 'first'), HUB_JWT_SECRET: testSecret }, 90_000),
    ]);
    expect(database.code).toBe(1);
    expect(database.output).toContain('opshub: DATABASE_URL: cannot reach 127.0.0.1:1 (connection refused)');
    expect(redis.code).toBe(1);
    expect(redis.output).toContain('opshub: REDIS_URL: cannot reach 127.0.0.1:1 (connection refused)');
    expect(locked.code).toBe(1);
    expect(locked.output).toMatch(/opshub: another opshub process \(pid \d+\) uses DATA_DIR .*first/);
    for (const { output } of [database, redis, locked]) {
      expect(output).not.toMatch(/^\s+at /m);
      expect(output.split('\n').filter((l) => l.startsWith('opshub: ') && !l.endsWith('…'))).toHaveLength(1);
    }
  }, 120_000);

  it('`npm run -s token` prints only the token, so T=$(npm run -s token …) works', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn('npm', ['run', '-s', 'token', '--', '--role', 'staff', '--event', 'expo'], { cwd: root, env: { ...process.env, HUB_JWT_SECRET: testSecret }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`token exited ${code}`))));
    });
    expect(stdout).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(await minter.verify(stdout.trim())).toMatchObject({ role: 'staff', events: ['expo'] });
  }, 60_000);
});
