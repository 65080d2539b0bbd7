/**
 * The join route's per-client limit behind a reverse proxy, through a real hub's HTTP stack: a hub configured with
 * `TRUSTED_PROXIES=127.0.0.1` sees requests from 127.0.0.1 as coming from the proxy, and from 127.0.0.2 and 127.0.0.3
 * (other loopback addresses on this machine) as clients connecting directly.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinLimits, type JoinCodeState } from '@opshub/schema/join';
import { loadConfig } from '../../src/config.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';

const proxy = '127.0.0.1';
let t: TestHub;
let code: string;

beforeAll(async () => {
  t = await startTestHub({ trustedProxies: loadConfig({ TRUSTED_PROXIES: `${proxy}, 10.0.0.0/8` }).trustedProxies });
  const created = await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify({ id: 'expo', name: 'Expo' }) });
  expect(created.status).toBe(201);
  code = ((await (await t.api('/api/v1/events/expo/join-code', { claims: { role: 'moderator' } })).json()) as JoinCodeState).code;
});
afterAll(() => t?.close());

/** POSTs a join from the local address `from`, with `X-Forwarded-For` lines as given; resolves with the status. */
function join(from: string, guess: string, forwardedFor: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ code: guess });
    const req = request(
      {
        host: '127.0.0.1',
        port: t.port,
        localAddress: from,
        method: 'POST',
        path: '/api/v1/events/expo/join',
        // An array goes out as one header line per entry, as when a proxy adds its own line below the client's.
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(forwardedFor.length > 0 && { 'x-forwarded-for': forwardedFor }) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Guesses wrong from one client until it is refused; the number of wrong guesses that were let through (the burst,
 * or a guess or two more on a machine so slow that the budget refilled meanwhile).
 */
async function exhaust(send: (guess: string, i: number) => Promise<number>): Promise<number> {
  for (let i = 0; i <= joinLimits.failures.burst + 3; i++) {
    const status = await send(`WRONG${i}X`, i);
    if (status === 429) return i;
    expect(status).toBe(403);
  }
  throw new Error(`still not refused after ${joinLimits.failures.burst + 4} wrong codes`);
}

describe('join limits behind a trusted proxy', () => {
  it('apply per forwarded client, and a client cannot pick its entry by sending the header itself', async () => {
    // The whole burst: nobody else behind the proxy has spent any of this client's budget.
    expect(await exhaust((guess) => join(proxy, guess, ['198.51.100.7']))).toBeGreaterThanOrEqual(joinLimits.failures.burst);
    expect(await join(proxy, code, ['198.51.100.7'])).toBe(429);

    // Another client behind the same proxy has its own budget.
    expect(await join(proxy, code, ['198.51.100.8'])).toBe(201);
    // The locked-out client claiming another address on the left of the proxy's entry, on one line or on its own line.
    expect(await join(proxy, code, ['198.51.100.8, 198.51.100.7'])).toBe(429);
    expect(await join(proxy, code, ['198.51.100.8', '198.51.100.7'])).toBe(429);
    // Through a second trusted hop (10.0.0.0/8) it is still the same client.
    expect(await join(proxy, code, ['198.51.100.7, 10.1.2.3'])).toBe(429);
  });

  it('apply per socket to a client that is not a trusted proxy, whatever it forwards', async () => {
    // A new address in every request would be a new budget if the header were believed from anyone.
    expect(await exhaust((guess, i) => join('127.0.0.2', guess, [`203.0.113.${i + 1}`]))).toBeGreaterThanOrEqual(joinLimits.failures.burst);
    expect(await join('127.0.0.2', code, ['203.0.113.200'])).toBe(429);
    expect(await join('127.0.0.2', code)).toBe(429);
    // The lock is that socket address's alone.
    expect(await join('127.0.0.3', code, ['203.0.113.1'])).toBe(201);
  });
});
