/**
 * docker-compose.yml and its HAProxy configuration are checked by the tools that will read them: `docker-compose
 * config` (no Docker daemon needed) and `haproxy -c`. A compose file nobody runs in CI rots; this one is parsed on
 * every run, with the variables it demands, and fails without them.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { describeWithTool } from '../support/services.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const required = { HUB_JWT_SECRET: 'x'.repeat(40), VAPID_PUBLIC_KEY: 'public', VAPID_PRIVATE_KEY: 'private', CLICKHOUSE_PASSWORD: 'secret' };

describeWithTool('docker-compose', 'docker-compose.yml', () => {
  it('is valid: three hubs from one image, each with its own DATA_DIR, health checks, HAProxy, ClickHouse with a password', async () => {
    const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: repo, env: { ...process.env, ...required } });
    for (const hub of ['hub-1', 'hub-2', 'hub-3']) expect(stdout).toContain(`DATA_DIR: /data/${hub}`);
    expect(stdout.match(/image: opshub:local/g)).toHaveLength(3);
    expect(stdout).toContain('haproxy.cfg');
    expect(stdout).toContain('CLICKHOUSE_URL: http://opshub:secret@clickhouse:8123/opshub');
    expect(stdout).toContain('HUB_DRAIN_SECONDS');
    expect(stdout.match(/healthcheck:/g)!.length).toBeGreaterThanOrEqual(3); // postgres, redis, clickhouse (the hubs' is in the image)
  });

  it('refuses to start without the shared secrets, naming them', async () => {
    const { HUB_JWT_SECRET: _omitted, ...rest } = required;
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'HUB_JWT_SECRET')), ...rest };
    await expect(run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: repo, env })).rejects.toMatchObject({ stderr: expect.stringContaining('HUB_JWT_SECRET') });
  });
});

describeWithTool('haproxy', 'deploy/compose/haproxy.cfg', () => {
  it('is a configuration HAProxy accepts', async () => {
    const { stdout, stderr } = await run('haproxy', ['-c', '-f', 'deploy/compose/haproxy.cfg'], { cwd: repo });
    expect(`${stdout}${stderr}`).toContain('Configuration file is valid');
  });
});
