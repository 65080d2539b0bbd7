import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { demoRoster } from '../src/demo-event.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('generates the same roster every run, with VIP and workshop tickets', () => {
  const roster = demoRoster(3000);
  expect(demoRoster(3000)).toEqual(roster);
  expect(new Set(roster.map((t) => t.code)).size).toBe(3000);
  expect(roster.filter((t) => t.type === 'vip').length).toBe(150);
  expect(roster.every((t) => /@example\.org$/.test(t.email))).toBe(true);
});

it('`npm run demo` brings up a live event with its agenda, sponsors and polls, prints every page, drops a gate and brings it back; Ctrl-C stops every process it started', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'opshub-demo-'));
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const child = spawn('npm', ['run', '-s', 'demo'], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), DEMO_AGENT_PORT: String(port + 1), DEMO_TICKETS: '600', DEMO_GATE_DROP_AFTER: '5', DEMO_GATE_DROP_FOR: '5', DATABASE_URL: '', REDIS_URL: '', CLICKHOUSE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const consoleUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no console link within 120 s:\n${lines.join('\n')}`)), 120_000);
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          lines.push(line);
          const match = /start page:\s+(\S+)/.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      }
    });
    const token = new URL(consoleUrl).searchParams.get('token')!;
    let checkedIn = 0;
    for (let i = 0; i < 300 && checkedIn < 5; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/events/demo/checkins/summary`, { headers: { authorization: `Bearer ${token}` } });
      checkedIn = ((await res.json()) as { checkedIn: number }).checkedIn;
      if (checkedIn < 5) await new Promise((r) => setTimeout(r, 100));
    }
    expect(checkedIn).toBeGreaterThanOrEqual(5);
    const output = lines.join('\n');
    for (const page of ['/ops/demo', '/events/demo', '/tickets/demo', '/gates/demo', '/audit/demo', '/moderate/demo/keynote', '/projector/demo/keynote', '/sponsor/demo', '/sponsor/demo/acme', '/booth/demo/acme-booth', '/live/demo/keynote?code=']) {
      expect(output, page).toContain(`http://localhost:${port}${page}`);
    }
    const get = async (path: string) => (await (await fetch(`http://127.0.0.1:${port}/api/v1/events/demo${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown[]>;
    expect((await get('/sessions')).sessions).toHaveLength(3);
    expect((await get('/sponsors')).sponsors).toHaveLength(2);
    expect((await get('/exhibitors')).exhibitors).toHaveLength(3);
    expect((await get('/polls?session=keynote')).polls!.length).toBeGreaterThanOrEqual(2);
    const directives = (await get('/directives')) as unknown as { zones: { zone: string; enforce: string }[] };
    expect(Object.fromEntries(directives.zones.map((z) => [z.zone, z.enforce]))).toEqual({ 'hall-a': 'warn', 'hall-b': 'refuse', vip: 'refuse', workshop: 'refuse' });
    // The south entrance's laptop goes off and comes back.
    for (let i = 0; i < 600 && !lines.some((l) => l.includes('south entrance: back online')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(lines.join('\n')).toMatch(/south entrance: laptop off[\s\S]*south entrance: back online/);
  } finally {
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
  // Nothing the demo started is left listening.
  const probe = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => 'up',
    () => 'down',
  );
  expect(probe).toBe('down');
}, 240_000);
