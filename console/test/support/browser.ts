import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

/** Debian's chromium package; never a downloaded browser. CHROMIUM_PATH overrides it. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  readonly context: BrowserContext;
  /** A new tab; its console errors and page errors are collected in `errors`. */
  newPage(): Promise<Page>;
  readonly errors: string[];
  close(): Promise<void>;
}

/**
 * Launches Debian's chromium headless through playwright-core with a fresh profile. Every tab has its own
 * sessionStorage, so two tabs are two independently signed-in consoles.
 * @example const browser = await launchBrowser(); const page = await browser.newPage(); await page.goto(url);
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(chromiumPath)) {
    // Loud on purpose: a browser test that skips itself on a machine without a browser proves nothing.
    throw new Error(`no chromium at ${chromiumPath}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'opshub-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    timezoneId: 'UTC',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message: ConsoleMessage) => {
      // A refused WebSocket (the hub is down on purpose) is logged by the browser itself: not the app's error.
      if (message.type() === 'error' && !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|Failed to load resource/.test(message.text())) {
        errors.push(`console: ${message.text()}`);
      }
    });
  };
  for (const page of context.pages()) watch(page);
  return {
    context,
    errors,
    async newPage() {
      const page = await context.newPage();
      watch(page);
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
