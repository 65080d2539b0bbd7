/**
 * A real hub process (what `npm start` runs) restarted on the same DATA_DIR while a console watches. The embedded
 * bus starts every topic's seq over after a restart, so `since` alone cannot be trusted: the console must notice,
 * refetch, and still show each announcement exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHubProcess, type HubProcess } from '../../hub/test/support/hub-process.ts';
import { minter, testSecret } from '../../hub/test/support/test-hub.ts';
import { TestClient } from '../../hub/test/support/ws-client.ts';
import { ensureConsoleBuild } from '../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { connectionState, consoleEvent, screenshot, signIn } from './support/console-fixture.ts';
import { TcpProxy } from '../../hub/test/support/tcp-proxy.ts';

let dataDir: string;
let hub: HubProcess | undefined;
let browser: TestBrowser;

const env = () => ({ DATA_DIR: dataDir, HUB_JWT_SECRET: testSecret });
const staffToken = () => minter.mint({ sub: 'ops-lead', role: 'staff', events: ['expo'] });
const announcementsWith = (page: Page, text: string) => page.locator('[data-testid=announcement]', { hasText: text });

async function announce(target: HubProcess, text: string): Promise<void> {
  const client = await TestClient.connect(target.wsUrl, await staffToken());
  try {
    expect(await client.command('announce.send', { event: 'expo', text, level: 'info' })).toMatchObject({ op: 'ok' });
  } finally {
    client.socket.close();
  }
}

beforeAll(async () => {
  await ensureConsoleBuild();
  dataDir = await mkdtemp(join(tmpdir(), 'opshub-console-restart-'));
  hub = await startHubProcess(env());
  const created = await fetch(`${hub.httpUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}` },
    body: JSON.stringify(consoleEvent),
  });
  expect(created.status).toBe(201);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('survives a hub restart: reconnecting while it is down, then every announcement once', async () => {
  const first = hub!;
  const proxy = await TcpProxy.start('127.0.0.1', first.port);
  const page = await browser.newPage();
  try {
    await announce(first, 'Before the restart');
    await signIn(page, `http://127.0.0.1:${proxy.port}`, '/ops/expo', await staffToken());
    await connectionState(page, 'live');
    await announcementsWith(page, 'Before the restart').waitFor();

    // Stop the hub (it tells the console it is restarting), then hold the console off until we are ready.
    await first.stop('SIGTERM');
    await page.locator('[data-testid=connection][data-state=reconnecting]').waitFor();
    proxy.cut();
    await screenshot(page, 'hub-restart-reconnecting');

    hub = await startHubProcess(env());
    proxy.retarget(hub.port);
    // Published while the console could not hear: with seqs restarted at 1, a plain `since` resume would skip one.
    const missed = ['Shuttle buses every 10 minutes', 'Cloakroom moved to level 2'];
    for (const text of missed) await announce(hub, text);

    proxy.restore();
    await connectionState(page, 'live', 30_000);
    for (const text of missed) await announcementsWith(page, text).waitFor({ timeout: 10_000 });
    for (const text of ['Before the restart', ...missed]) expect(await announcementsWith(page, text).count()).toBe(1);
    await screenshot(page, 'hub-restart-recovered');
    expect(browser.errors).toEqual([]);
  } finally {
    await page.close();
    await proxy.close();
  }
}, 120_000);
