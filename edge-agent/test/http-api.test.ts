import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateDocTypes, signTicket, writeNotices, type DocNotices } from '@opshub/replica';
import * as Y from 'yjs';
import { startAgent, type Agent } from '../src/agent.ts';
import { eventDoc, EVENT, generateEventKeys, getJson, mintToken, postScan, seedDataDir, tempDir, ticket } from './helpers.ts';

let agent: Agent;
let privateJwk: Awaited<ReturnType<typeof generateEventKeys>>['privateJwk'];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const keys = await generateEventKeys();
  privateJwk = keys.privateJwk;
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  await seedDataDir(
    dir,
    await eventDoc(
      {
        'T-1': ticket({ order: 'ORD-100' }),
        'T-2': ticket({ holder: 'Grace Hopper', email: 'grace@navy.example', type: 'day' }),
        'T-REV': ticket({ holder: 'Revoked Person', status: 'revoked' }),
        'T-CREW': ticket({ holder: 'Crew Member', type: 'crew', zones: ['backstage'] }),
        'T-BOTH': ticket({ holder: 'All Access', zones: ['hall', 'backstage'] }),
        'BOX-REV': ticket({ holder: '', email: '', type: '', status: 'revoked' }),
      },
      keys.publicJwk,
    ),
  );
  agent = await startAgent({ event: EVENT, gate: 'north', token: await mintToken({ gate: 'north' }), port: 0, host: '127.0.0.1', data: dir });
  cleanups.push(() => agent.close());
});
afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('POST /scan verdicts (gate north, zone hall)', () => {
  it('admits, then says already_in with where and when, records an exit, admits a re-entry', async () => {
    const first = await postScan(agent.url, { code: 'T-1', dir: 'in' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ verdict: 'admitted', ticket: { code: 'T-1', holder: 'Ada Lovelace', type: 'vip', order: 'ORD-100' }, gate: 'north', dir: 'in' });
    expect(typeof first.body.ms).toBe('number');
    const again = await postScan(agent.url, { code: 'T-1' });
    expect(again.body).toMatchObject({ verdict: 'already_in', already: { gate: 'north', device: agent.device, at: first.body.at, scanId: first.body.scanId } });
    expect((await postScan(agent.url, { code: 'T-1', dir: 'out' })).body.verdict).toBe('admitted');
    expect((await postScan(agent.url, { code: 'T-1', dir: 'in' })).body.verdict).toBe('admitted');
  });

  it.each([
    ['an unknown code', 'NOPE-1', 'invalid'],
    ['a revoked ticket', 'T-REV', 'revoked'],
    ['a backstage-only ticket at a hall gate', 'T-CREW', 'wrong_zone'],
    ['a ticket listing the hall zone', 'T-BOTH', 'admitted'],
  ])('%s → %s', async (_name, code, verdict) => {
    expect((await postScan(agent.url, { code, dir: 'in' })).body.verdict).toBe(verdict);
  });

  it('admits a signed ticket token not in the roster, once, and refuses forged and revoked ones', async () => {
    const token = await signTicket({ event: EVENT, code: 'BOX-1', holder: 'Door Sale', type: 'day', zones: [] }, privateJwk);
    const admitted = await postScan(agent.url, { code: token });
    expect(admitted.body).toMatchObject({ verdict: 'admitted', ticket: { code: 'BOX-1', holder: 'Door Sale', type: 'day' } });
    expect((await postScan(agent.url, { code: token })).body.verdict).toBe('already_in');

    const forged = await signTicket({ event: EVENT, code: 'BOX-2', holder: 'Forger', type: 'vip', zones: [] }, (await generateEventKeys()).privateJwk);
    expect((await postScan(agent.url, { code: forged })).body).toMatchObject({ verdict: 'invalid', problem: expect.stringMatching(/does not verify/) });

    const otherEvent = await signTicket({ event: 'other', code: 'BOX-3', holder: 'X', type: 'day', zones: [] }, privateJwk);
    expect((await postScan(agent.url, { code: otherEvent })).body.verdict).toBe('invalid');

    const revoked = await signTicket({ event: EVENT, code: 'BOX-REV', holder: 'Refunded', type: 'day', zones: [] }, privateJwk);
    expect((await postScan(agent.url, { code: revoked })).body.verdict).toBe('revoked');
  });

  it.each([
    ['no body', undefined],
    ['not JSON', '{'],
    ['an empty code', { code: '  ' }],
    ['a bad direction', { code: 'T-2', dir: 'up' }],
    ['an unknown field', { code: 'T-2', extra: 1 }],
  ])('answers 400 invalid for %s', async (_name, body) => {
    const response = await fetch(`${agent.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid', message: expect.any(String) });
  });
});

describe('GET /status, /lookup, /', () => {
  it('reports the replica', async () => {
    const { status, body } = await getJson(`${agent.url}/status`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ online: false, peers: 0, pending: expect.any(Number), lastSync: 0, tickets: 6, scans: expect.any(Number), gate: 'north', zone: 'hall' });
    expect(body.pending).toBe(body.scans);
    expect(body.unsaved).toBe(0);
  });

  it('counts an update from the hub as unsaved until it is on disk', async () => {
    // A roster change as the hub's sync applies it: a remote origin, so it is written after it is applied.
    gateDocTypes(agent.doc).tickets.set('T-LATE', ticket({ holder: 'Late Sale' }));
    Y.transact(agent.doc, () => gateDocTypes(agent.doc).tickets.set('T-LATER', ticket({ holder: 'Later Sale' })), 'hub-sync');
    expect(agent.status().unsaved).toBe(2);
    // The agent tells its listeners after each write; nothing has been awaited since the check above.
    await new Promise<void>((resolve) => {
      const stop = agent.onChange(() => {
        if (agent.status().unsaved > 0) return;
        stop();
        resolve();
      });
    });
    expect((await getJson(`${agent.url}/status`)).body).toMatchObject({ unsaved: 0, tickets: 8 });
  });

  it('finds tickets by name, email or order, case-insensitively and by prefix', async () => {
    expect((await getJson(`${agent.url}/lookup?q=lovel`)).body.results.map((r: any) => r.code)).toEqual(['T-1']);
    expect((await getJson(`${agent.url}/lookup?q=GRACE@`)).body.results).toMatchObject([{ code: 'T-2', holder: 'Grace Hopper', inside: false }]);
    expect((await getJson(`${agent.url}/lookup?q=ord-1`)).body.results).toMatchObject([{ code: 'T-1', order: 'ORD-100', inside: true }]);
    expect((await getJson(`${agent.url}/lookup?q=zzz`)).body.results).toEqual([]);
    expect((await getJson(`${agent.url}/lookup`)).status).toBe(400);
  });

  it('serves the gate screen and 404s the rest', async () => {
    const page = await fetch(`${agent.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('id="scan"');
    expect(html).toContain('ALREADY INSIDE');
    expect((await getJson(`${agent.url}/nope`)).status).toBe(404);
  });
});

describe('GET /announcements, the gate screen\'s long poll', () => {
  const notice = (id: string, level: 'info' | 'emergency') => ({ id, text: `notice ${id}`, level, at: Date.now() });

  it('answers at once without a tag, then holds a request that shows the current tag until the notices change', async () => {
    const first = await fetch(`${agent.url}/announcements?wait=10`);
    expect(first.status).toBe(200);
    const tag = first.headers.get('etag');
    expect(tag).toMatch(/^"[\w-]+"$/);
    const before = (await first.json()) as DocNotices;

    const asked = performance.now();
    const held = fetch(`${agent.url}/announcements?wait=10`, { headers: { 'if-none-match': tag! } });
    // Still held 300 ms later: nothing changed.
    const early = await Promise.race([held.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('held'), 300))]);
    expect(early).toBe('held');
    // The hub's write reaching the replica (as its sync applies it) answers the held request.
    const emergency = notice('em-1', 'emergency');
    Y.transact(agent.doc, () => writeNotices(agent.doc, { emergency, recent: before.recent }), 'hub-sync');
    const changed = await held;
    const waited = performance.now() - asked;
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(tag);
    expect(await changed.json()).toEqual({ emergency, recent: before.recent });
    expect(waited).toBeLessThan(5000); // the 10 s wait did not run out
  });

  it('answers 304 with the same tag when nothing changed within the wait, and ignores writes elsewhere in the doc', async () => {
    const current = await fetch(`${agent.url}/announcements`);
    const tag = current.headers.get('etag')!;
    const held = fetch(`${agent.url}/announcements?wait=1`, { headers: { 'if-none-match': tag } });
    gateDocTypes(agent.doc).tickets.set('T-NOISE', ticket({ holder: 'Not a notice' }));
    const answer = await held;
    expect(answer.status).toBe(304);
    expect(answer.headers.get('etag')).toBe(tag);
    expect(await answer.text()).toBe('');
  });

  it('answers at once when the screen shows an older tag, and refuses a wait out of range', async () => {
    const answer = await fetch(`${agent.url}/announcements?wait=20`, { headers: { 'if-none-match': '"stale"' } });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as DocNotices).emergency).toMatchObject({ id: 'em-1' });
    for (const wait of ['21', '-1', 'soon']) {
      const refused = await getJson(`${agent.url}/announcements?wait=${wait}`);
      expect(refused.status, wait).toBe(400);
      expect(refused.body.error).toBe('invalid');
    }
  });
});
