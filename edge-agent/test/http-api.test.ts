import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateDocTypes, signTicket } from '@opshub/replica';
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
