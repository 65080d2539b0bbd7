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

/**
 * Starts watching, inside the page, for the first moment `selector` matches a visible element (whose text includes
 * `match.text`, or whose digits read `match.number`, when given), and returns a function
 * that reads that moment (epoch ms, the machine's clock) once it has come. A latency measured this way is the
 * product's and the browser's, not the test driver's: on a loaded CI machine each Playwright round trip can take
 * a second, and a chain of them measures the harness.
 */
export async function watchShown(page: Page, selector: string, match: { text?: string; number?: number } = {}): Promise<() => Promise<number>> {
  const key = `shown:${selector}:${JSON.stringify(match)}`;
  await page.evaluate(
    ([watchedSelector, slot, wanted]) => {
      const record = window as unknown as Record<string, number | undefined>;
      record[slot] = undefined;
      const matches = (element: Element): boolean => {
        if (!(element instanceof HTMLElement) || element.hidden || element.getClientRects().length === 0) return false;
        const text = element.textContent ?? '';
        if (wanted.text !== undefined && !text.includes(wanted.text)) return false;
        return wanted.number === undefined || Number(text.replace(/\D/g, '')) === wanted.number;
      };
      const check = (): boolean => {
        if (![...document.querySelectorAll(watchedSelector)].some(matches)) return false;
        record[slot] = Date.now();
        return true;
      };
      if (check()) return;
      const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
      observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    },
    [selector, key, match] as const,
  );
  return stampReader(page, key, `${selector} ${JSON.stringify(match)} never became visible`);
}

/** Records, inside the page, when the next click on `selector` happens; returns the reader (epoch ms). */
export async function watchClick(page: Page, selector: string): Promise<() => Promise<number>> {
  const key = `clicked:${selector}`;
  await page.evaluate(
    ([watchedSelector, slot]) => {
      const record = window as unknown as Record<string, number | undefined>;
      record[slot] = undefined;
      document.addEventListener('click', (event) => {
        if (record[slot] === undefined && event.target instanceof Element && event.target.closest(watchedSelector)) record[slot] = Date.now();
      }, { capture: true });
    },
    [selector, key] as const,
  );
  return stampReader(page, key, `no click on ${selector} was seen`);
}

/** Reads the moment a watcher recorded in the page under `key`; throws `missing` when it never came. */
function stampReader(page: Page, key: string, missing: string): () => Promise<number> {
  return async () => {
    const at = await page.evaluate((slot) => (window as unknown as Record<string, number | undefined>)[slot], key);
    if (at === undefined) throw new Error(`${missing} on ${page.url()}`);
    return at;
  };
}
