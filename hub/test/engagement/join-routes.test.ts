/**
 * Joining the audience page with a code: the staff's code, the attendee token it mints, rotation, the per-address
 * limits, and the clear refusal when the hub does not sign tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinLimits, type JoinCodeState, type JoinResponse } from '@opshub/schema/join';
import { createLogger } from '../../src/log.ts';
import { loadNativeUws } from '../../src/native-uws.ts';
import { generateJoinCode } from '../../src/store/repos/join-code-repo.ts';
import type { Store } from '../../src/store/store.ts';
import { registerJoinRoutes } from '../../src/rest/join-routes.ts';
import { minter } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { ok, startEngagementHub, type EngagementHub } from './support.ts';

let h: EngagementHub;

beforeAll(async () => {
  h = await startEngagementHub(['expo', 'other']);
});
afterAll(() => h?.close());

const join = (event: string, code: unknown) =>
  fetch(`${h.t.httpUrl}/api/v1/events/${event}/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
const codeOf = async (event = 'expo') => (await h.get<JoinCodeState>(`/api/v1/events/${event}/join-code`, 'moderator')).body;

describe('join codes', () => {
  it('generates codes uniformly from the look-alike-free alphabet', () => {
    const code = generateJoinCode();
    expect(code).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/);
    // Bytes at or above 248 (8 × 31) are skipped rather than folded onto the first letters.
    let calls = 0;
    const fixed = generateJoinCode(3, (n) => (calls++ === 0 ? Uint8Array.from({ length: n }, (_, i) => (i < 2 ? 250 : 0)) : new Uint8Array(n)));
    expect(fixed).toBe('AAA');
  });

  it('is generated on the first read, stable after, and only for the roles that run the room', async () => {
    const first = await codeOf();
    expect(first).toMatchObject({ event: 'expo', updatedBy: 'system' });
    expect(first.code).toMatch(/^[A-Z0-9]{6}$/);
    expect((await codeOf()).code).toBe(first.code);
    for (const role of ['admin', 'staff'] as const) expect((await h.get(`/api/v1/events/expo/join-code`, role)).status).toBe(200);
    for (const role of ['attendee', 'gate', 'exhibitor', 'sponsor'] as const) {
      expect(await h.get(`/api/v1/events/expo/join-code`, role)).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    }
    // A moderator of another event is refused too.
    const res = await h.t.api('/api/v1/events/expo/join-code', { claims: { role: 'moderator', events: ['other'] } });
    expect(res.status).toBe(403);
  });

  it('mints an attendee token for that event with an opaque sub, from the code as people type it', async () => {
    const { code } = await codeOf();
    const typed = `  ${code.slice(0, 3).toLowerCase()}-${code.slice(3)} `;
    const res = await join('expo', typed);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as JoinResponse;
    expect(body).toMatchObject({ role: 'attendee', event: 'expo' });
    expect(body.sub).toMatch(/^att-[A-Za-z0-9_-]{16}$/);
    expect(body.expiresAt).toBeGreaterThan(Date.now() + joinLimits.tokenTtlSeconds * 1000 - 60_000);
    expect(await minter.verify(body.token)).toMatchObject({ sub: body.sub, role: 'attendee', events: ['expo'] });

    // Each join is a new identity.
    const again = (await (await join('expo', code)).json()) as JoinResponse;
    expect(again.sub).not.toBe(body.sub);

    // The token works on /ws as an attendee of this event, and only as that.
    const client = await TestClient.connect(h.t.wsUrl, body.token);
    try {
      ok(await client.command('qa.ask', { event: 'expo', session: 's1', text: 'Does joining work?' }));
      const refused = await client.command('qa.approve', { event: 'expo', id: 'x' });
      expect(refused).toMatchObject({ op: 'err', code: 'forbidden' });
      const elsewhere = await client.command('qa.ask', { event: 'other', session: 's1', text: 'Here too?' });
      expect(elsewhere).toMatchObject({ op: 'err', code: 'forbidden' });
    } finally {
      await client.close();
    }
  });

  it('answers a wrong code, an event without one and an unknown event alike, and a malformed one as invalid', async () => {
    const wrong = await join('expo', 'ZZZZZZ');
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ error: 'forbidden', message: 'that join code is not valid for event "expo"' });
    const { code } = await codeOf();
    expect((await join('other', code)).status).toBe(403); // "other" has no code yet
    expect((await join('nosuch', code)).status).toBe(403);
    expect((await join('expo', 'abc')).status).toBe(400);
    expect((await join('expo', 42)).status).toBe(400);
  });

  it('rotates or sets the code: the old one admits nobody new; audited without the code', async () => {
    const before = (await codeOf()).code;
    const post = (body: unknown, role: 'moderator' | 'attendee' = 'moderator') =>
      h.t.api('/api/v1/events/expo/join-code', { method: 'POST', body: JSON.stringify(body), claims: { role, sub: `${role}-rotator` } });
    expect((await post({}, 'attendee')).status).toBe(403);
    const rotated = (await (await post({})).json()) as JoinCodeState;
    expect(rotated.code).not.toBe(before);
    expect(rotated.updatedBy).toBe('moderator-rotator');
    expect((await join('expo', before)).status).toBe(403);
    expect((await join('expo', rotated.code)).status).toBe(201);

    const chosen = (await (await post({ code: 'keynote-26' })).json()) as JoinCodeState;
    expect(chosen.code).toBe('KEYNOTE26');
    expect((await join('expo', 'Keynote 26')).status).toBe(201);
    expect((await post({ code: 'x' })).status).toBe(400);

    const audit = (await h.audit()).filter((e) => e.action === 'join.code');
    expect(audit.map((e) => e.after)).toEqual([
      { source: 'generated', replaced: true },
      { source: 'chosen', replaced: true },
    ]);
    expect(JSON.stringify(audit)).not.toContain('KEYNOTE26');
  });

  // Last: it uses up this address's wrong guesses for the rest of the file.
  it('locks an address out after its wrong guesses, even for the right code, with Retry-After', async () => {
    const { code } = await codeOf();
    let refusedAt = -1;
    for (let i = 0; i < joinLimits.failures.burst + 1 && refusedAt < 0; i++) {
      const res = await join('expo', `WRONG${i}X`);
      if (res.status === 429) refusedAt = i;
      else expect(res.status).toBe(403);
    }
    // Earlier tests spent some of the burst; at most the burst is ever allowed.
    expect(refusedAt).toBeGreaterThan(0);
    expect(refusedAt).toBeLessThanOrEqual(joinLimits.failures.burst);
    const right = await join('expo', code);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await right.json()).toMatchObject({ error: 'rate_limited' });
  });
});

describe('a hub that does not sign tokens (identity provider)', () => {
  it('answers 501 unavailable with the reason, for joining and for the code', async () => {
    const app = loadNativeUws().App();
    // A verifier without `mint`, as with HUB_JWKS_URL; the routes refuse before they reach the Store.
    registerJoinRoutes(app, { store: {} as Store, verifier: { verify: (t) => minter.verify(t), verifyNow: (t) => minter.verifyNow(t) }, log: createLogger('silent') });
    const uws = loadNativeUws();
    const socket = await new Promise<unknown>((resolve) => app.listen('127.0.0.1', 0, resolve));
    const port = uws.us_socket_local_port(socket as never);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/events/expo/join`, { method: 'POST', body: JSON.stringify({ code: 'ABCDEF' }) });
      expect(res.status).toBe(501);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('unavailable');
      expect(body.message).toContain('HUB_JWKS_URL');
      const token = await minter.mint({ sub: 'm', role: 'moderator', events: ['expo'] });
      const code = await fetch(`http://127.0.0.1:${port}/api/v1/events/expo/join-code`, { headers: { authorization: `Bearer ${token}` } });
      expect(code.status).toBe(501);
    } finally {
      uws.us_listen_socket_close(socket as never);
    }
  });
});
