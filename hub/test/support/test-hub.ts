import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Claims } from '@opshub/schema';
import { createAnalytics } from '../../src/analytics/create-analytics.ts';
import { hs256Verifier } from '../../src/auth/token-verifier.ts';
import type { Bus } from '../../src/bus/bus.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import type { StripeConfig } from '../../src/config.ts';
import { Hub, type Backends } from '../../src/hub.ts';
import { createLogger } from '../../src/log.ts';
import { PgliteStore } from '../../src/store/pglite/pglite-store.ts';
import type { WsLimits } from '../../src/transport/ws-endpoint.ts';
import type { PushSettings } from '../../src/streams/push/push-stream.ts';

export const testSecret = 'test-secret-that-is-long-enough-for-hs256';
export const minter = hs256Verifier(testSecret);

export interface TestHub {
  readonly hub: Hub;
  readonly backends: Backends;
  readonly port: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  token(claims: Partial<Claims> & Pick<Claims, 'role'>): Promise<string>;
  /** fetch against the hub with a token for `claims` */
  api(path: string, init?: RequestInit & { claims?: Partial<Claims> & Pick<Claims, 'role'> }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A real hub in this process on port 0: uWS, the given bus (in-process by default), in-memory PGlite and chDB in a
 * temp folder. One per test file: chDB holds one engine per process.
 */
export async function startTestHub(
  options: {
    bus?: Bus;
    wsLimits?: Partial<WsLimits>;
    trustedProxies?: readonly string[];
    stripe?: StripeConfig;
    push?: PushSettings;
    /** socket worker threads (HUB_WORKERS); default `TEST_HUB_WORKERS` or 1, the single-thread hub */
    workers?: number;
  } = {},
): Promise<TestHub> {
  const workers = options.workers ?? testHubWorkers();
  const dir = await mkdtemp(join(tmpdir(), 'opshub-hub-'));
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const backends: Backends = { bus: options.bus ?? new MemoryBus(), store: new PgliteStore({ template: process.env.PGLITE_TEMPLATE }), analytics: createAnalytics({ dataDir: dir, flushMs: 50 }) };
  const hub = new Hub({
    backends,
    verifier: minter,
    log,
    host: '127.0.0.1',
    port: 0,
    wsLimits: options.wsLimits,
    trustedProxies: options.trustedProxies,
    stripe: options.stripe,
    push: options.push,
    workers: workers > 1 ? { count: workers, auth: { kind: 'hs256', secret: testSecret } } : undefined,
  });
  const { port } = await hub.start();
  const token: TestHub['token'] = (claims) => minter.mint({ sub: `${claims.role}-test`, events: ['expo'], ...claims });
  return {
    hub,
    backends,
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    token,
    async api(path, init = {}) {
      const { claims, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (claims) headers.set('authorization', `Bearer ${await token(claims)}`);
      return fetch(`http://127.0.0.1:${port}${path}`, { ...rest, headers });
    },
    async close() {
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The socket workers in-process test hubs run with unless a test says: `TEST_HUB_WORKERS` (the contract suites run
 * again with 2 in hub/test/workers/), else 1.
 */
export function testHubWorkers(): number {
  const n = Number(process.env.TEST_HUB_WORKERS ?? 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TEST_HUB_WORKERS must be a positive integer, got ${process.env.TEST_HUB_WORKERS}`);
  return n;
}

/** A small event most tests can use. */
export const expoEvent = {
  id: 'expo',
  name: 'Expo 2026',
  zones: [
    { id: 'hall', name: 'Main hall', capacity: 500 },
    { id: 'vip', name: 'VIP lounge', capacity: 50 },
  ],
  gates: [
    { id: 'north', name: 'North gate', zone: 'hall' },
    { id: 'vipdoor', name: 'VIP door', zone: 'vip' },
  ],
};
