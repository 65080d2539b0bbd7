import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestHub } from '../../../hub/test/support/test-hub.ts';

/** Test-run screenshots land here (git-ignored): `artifacts/console/`. */
export const artifactsDir = fileURLToPath(new URL('../../../artifacts/console/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The event the browser tests use: two zones, three gates, a zone small enough to fill. */
export const consoleEvent = {
  id: 'expo',
  name: 'Expo 2026',
  timezone: 'Europe/Berlin',
  zones: [
    { id: 'hall', name: 'Main hall', capacity: 500 },
    { id: 'vip', name: 'VIP lounge', capacity: 20 },
  ],
  gates: [
    { id: 'north', name: 'North gate', zone: 'hall' },
    { id: 'south', name: 'South gate', zone: 'hall' },
    { id: 'vipdoor', name: 'VIP door', zone: 'vip' },
  ],
};

export async function createEvent(hub: TestHub, event = consoleEvent): Promise<void> {
  const response = await hub.api('/api/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
    claims: { role: 'admin', events: ['*'] },
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

/**
 * Opens `path` on `origin` with `?token=` the way a person follows the hub's sign-in link, and waits until the
 * console has taken the token out of the address bar.
 */
export async function signIn(page: Page, origin: string, path: string, token: string): Promise<void> {
  await page.goto(`${origin}${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`);
  await page.waitForURL((url) => url.pathname === path.split('?')[0] && !url.searchParams.has('token'));
}

/** Waits for the connection badge to say `state` (live, reconnecting, connecting, stopped). */
export async function connectionState(page: Page, state: string, timeout = 10_000): Promise<void> {
  await page.locator(`[data-testid=connection][data-state=${state}]`).waitFor({ timeout });
}
