import { afterAll, beforeAll } from 'vitest';
import { startTestHub, type TestHub } from '../../../hub/test/support/test-hub.ts';
import { ensureConsoleBuild } from '../../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { createEvent } from './console-fixture.ts';

/** What a browser test file works with, once its `beforeAll` has run. */
export interface HubAndBrowser {
  /** a hub in this process (port 0) serving the current console build, with `consoleEvent` created */
  readonly hub: TestHub;
  /** Debian's chromium, one fresh profile for the file */
  readonly browser: TestBrowser;
}

/**
 * Registers, in the calling test file, the set-up the console's browser tests against `consoleEvent` share: the
 * console built if its sources changed, a hub serving it, the event, chromium. Teardown closes the browser before
 * the hub, so no tab is left holding a socket to a hub that is going away.
 * Read the fields inside tests and hooks: they are set once the file's `beforeAll` has run.
 * @example const setup = useHubAndBrowser(); it('…', async () => { await (await setup.browser.newPage()).goto(setup.hub.httpUrl); });
 */
export function useHubAndBrowser(): HubAndBrowser {
  let hub: TestHub | undefined;
  let browser: TestBrowser | undefined;
  beforeAll(async () => {
    await ensureConsoleBuild();
    hub = await startTestHub();
    await createEvent(hub);
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });
  return {
    get hub() {
      return started(hub, 'hub');
    },
    get browser() {
      return started(browser, 'browser');
    },
  };
}

/** Read too early (while tests are collected) or after a failed set-up: say which, not "cannot read … of undefined". */
function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the test ${what} is not started: read it inside a test or hook, after beforeAll`);
  return value;
}
