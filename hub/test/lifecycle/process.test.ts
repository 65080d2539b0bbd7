import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbClient } from '../../src/analytics/chdb-client.ts';
import { runHubExpectingFailure, startHubProcess } from '../support/hub-process.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/** `npm start` as a person runs it: embedded defaults in DATA_DIR, refusal on bad setups, orderly SIGTERM. */
describe('the hub process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opshub-life-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses to start on the slow uWebSockets.js fallback', async () => {
    const { code, output } = await runHubExpectingFailure({ UWS_USE_FALLBACK: '1', DATA_DIR: join(dir, 'fallback') });
    expect(code).toBe(1);
    expect(output).toMatch(/native binding.*refusing to start/s);
  });

  it('refuses a bad configuration, naming the variable', async () => {
    const { code, output } = await runHubExpectingFailure({ PORT: 'eighty', DATA_DIR: join(dir, 'bad') });
    expect(code).toBe(1);
    expect(output).toContain('PORT:');
  });

  it('prints a sign-in link, keeps every acknowledged write through SIGTERM, and owns its DATA_DIR', async () => {
    const dataDir = join(dir, 'data');
    const env = { DATA_DIR: dataDir, HUB_JWT_SECRET: testSecret };
    const hub = await startHubProcess(env);
    expect(hub.output.join('\n')).toMatch(/sign in \(admin, 7 days\): http:\/\/localhost:\d+\/\?token=ey/);
    expect(await (await fetch(`${hub.httpUrl}/healthz`)).json()).toEqual({ ok: true, bus: 'memory', store: 'pglite', analytics: 'chdb' });

    // A second process on the same folder would corrupt PGlite: it must refuse.
    const second = await runHubExpectingFailure(env);
    expect(second.code).toBe(1);
    expect(second.output).toMatch(/another opshub process \(pid \d+\) uses DATA_DIR/);

    const admin = await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
    await fetch(`${hub.httpUrl}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ id: 'life', name: 'Life' }) });
    const client = await TestClient.connect(hub.wsUrl, admin);
    for (let i = 0; i < 25; i++) expect(await client.command('announce.send', { event: 'life', text: `a${i}`, level: 'info' })).toMatchObject({ op: 'ok' });
    const closed = client.closed;
    expect(await hub.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect((await closed).code).toBe(1012);

    // Analytics were flushed before exit: read chDB directly now that the hub has released it.
    const ch = createChdbClient({ path: join(dataDir, 'clickhouse') });
    const rows = (await (await ch.query({ query: "SELECT count() AS n FROM events WHERE kind = 'announcement.sent' AND event = 'life'", format: 'JSONEachRow' })).json()) as { n: string }[];
    expect(Number(rows[0]?.n)).toBe(25);
    await ch.close();

    // A kill -9 leaves PGlite's postmaster.pid and our lock behind; the next start must still come up with the data.
    const again = await startHubProcess(env);
    const announced = await fetch(`${again.httpUrl}/api/v1/events/life/announcements?limit=100`, { headers: { authorization: `Bearer ${admin}` } });
    expect(((await announced.json()) as unknown[]).length).toBe(25);
    expect(await again.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    const afterCrash = await startHubProcess(env);
    const still = await fetch(`${afterCrash.httpUrl}/api/v1/events/life/announcements?limit=100`, { headers: { authorization: `Bearer ${admin}` } });
    expect(((await still.json()) as unknown[]).length).toBe(25);
    expect((await afterCrash.stop()).code).toBe(0);
  }, 120_000);
});
