import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../src/agent.ts';
import WebSocket from 'ws';
import { SignJWT, UnsecuredJWT } from 'jose';
import { deriveScanKey, readScans, verifyScanMac } from '@opshub/replica';
import { eventDoc, EVENT, getJson, meshQuery, mintToken, pairLocally, TEST_EVENT_SECRET, postScan, scanArrives, seedDataDir, tempDir, ticket } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function meshedPair(): Promise<{ a: Agent; b: Agent }> {
  const roster = await eventDoc({ 'T-1': ticket(), 'T-2': ticket({ holder: 'Grace Hopper' }), 'T-3': ticket({ holder: 'Alan Turing' }) });
  const start = async (gate: string, peer?: string): Promise<Agent> => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    await seedDataDir(dir, roster);
    await pairLocally(dir, gate);
    const agent = await startAgent({ event: EVENT, gate, token: await mintToken({ gate }), port: 0, host: '127.0.0.1', data: dir, peer: peer ? [peer] : [] });
    cleanups.push(() => agent.close());
    return agent;
  };
  // No hub anywhere: B dials A.
  const a = await start('north');
  const b = await start('south', `ws://127.0.0.1:${a.port}`);
  return { a, b };
}

describe('venue mesh without a hub', () => {
  it('a ticket admitted at one gate is already_in at the other within a second', async () => {
    const { a, b } = await meshedPair();
    const first = await postScan(a.url, { code: 'T-1', dir: 'in' });
    expect(first.body).toMatchObject({ verdict: 'admitted', ticket: { code: 'T-1', holder: 'Ada Lovelace', type: 'vip' } });

    const started = performance.now();
    const arrival = scanArrives(b, first.body.scanId);
    // The scan may already be there if the mesh was quicker than this line; then the timeline knows it.
    if (b.timeline.state('T-1')?.inside !== true) await arrival;
    const elapsed = performance.now() - started;
    console.log(`mesh: scan at north visible at south after ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1000);

    const second = await postScan(b.url, { code: 'T-1', dir: 'in' });
    expect(second.body).toMatchObject({ verdict: 'already_in', already: { gate: 'north', device: a.device, at: first.body.at } });

    // And back the other way: an exit at south lets the attendee in again at north.
    const exitArrives = new Promise<void>((resolve) => {
      const stop = a.onScans((batch) => {
        if (batch.entries.some((e) => e.scan.dir === 'out')) {
          stop();
          resolve();
        }
      });
    });
    await postScan(b.url, { code: 'T-1', dir: 'out' });
    await exitArrives;
    expect((await postScan(a.url, { code: 'T-1', dir: 'in' })).body.verdict).toBe('admitted');

    const [statusA, statusB] = await Promise.all([getJson(`${a.url}/status`), getJson(`${b.url}/status`)]);
    expect(statusA.body).toMatchObject({ online: false, peers: 1, scans: 4, tickets: 3, hub: 'none' });
    expect(statusB.body).toMatchObject({ online: false, peers: 1, scans: 4, tickets: 3 });
    expect(a.timeline.duplicates()).toEqual([]);
  });

  it('two gates admitting one ticket while cut off from each other converge on one duplicate admission', async () => {
    const roster = await eventDoc({ 'T-9': ticket() });
    const dirs = await Promise.all([tempDir(), tempDir()]);
    for (const d of dirs) cleanups.push(d.remove);
    await Promise.all(dirs.map((d) => seedDataDir(d.dir, roster)));
    await Promise.all([pairLocally(dirs[0]!.dir, 'north'), pairLocally(dirs[1]!.dir, 'south')]);
    const token = await mintToken();
    // Offline and unmeshed: both admit.
    const north = await startAgent({ event: EVENT, gate: 'north', token, port: 0, host: '127.0.0.1', data: dirs[0]!.dir });
    const southAlone = await startAgent({ event: EVENT, gate: 'south', token, port: 0, host: '127.0.0.1', data: dirs[1]!.dir });
    cleanups.push(() => north.close());
    expect((await postScan(north.url, { code: 'T-9' })).body.verdict).toBe('admitted');
    expect((await postScan(southAlone.url, { code: 'T-9' })).body.verdict).toBe('admitted');
    await southAlone.close();
    // The LAN comes back: south restarts meshed with north.
    const nextBatch = (agent: Agent): Promise<void> =>
      new Promise<void>((resolve) => {
        const stop = agent.onScans(() => {
          stop();
          resolve();
        });
      });
    const atNorth = nextBatch(north);
    const south = await startAgent({ event: EVENT, gate: 'south', token, port: 0, host: '127.0.0.1', data: dirs[1]!.dir, peer: [`ws://127.0.0.1:${north.port}`] });
    cleanups.push(() => south.close());
    // Nothing can have arrived yet: startAgent resolves before any socket I/O is handled.
    await Promise.all([atNorth, nextBatch(south)]);
    for (const agent of [north, south]) {
      const duplicates = agent.timeline.duplicates();
      expect(duplicates).toHaveLength(1);
      expect(new Set([duplicates[0]!.first.gate, duplicates[0]!.second.gate])).toEqual(new Set(['north', 'south']));
      expect(agent.timeline.counts()).toMatchObject({ inside: 1, scans: 2 });
    }
    expect(north.timeline.duplicates()).toEqual(south.timeline.duplicates());
  });
});

/** What the mesh endpoint answers an upgrade with `query` (101 when it upgrades), and what it sent before closing. */
async function tryUpgrade(agent: Agent, query: Record<string, string>): Promise<{ status: number; bytes: number }> {
  const socket = new WebSocket(`ws://127.0.0.1:${agent.port}/yjs/event/${EVENT}/gate?${new URLSearchParams(query)}`);
  socket.on('error', () => {});
  let bytes = 0;
  socket.on('message', (data: Buffer) => (bytes += data.length));
  const status = await new Promise<number>((resolve) => {
    socket.once('unexpected-response', (request, response) => {
      request.destroy();
      resolve(response.statusCode ?? 0);
    });
    socket.once('open', () => resolve(101));
  });
  socket.terminate();
  return { status, bytes };
}

describe('who the mesh admits (issue #11)', () => {
  it('refuses unsigned and wrong-key peers before the upgrade, while a paired agent syncs; the answering agent proves itself too', async () => {
    const { a, b } = await meshedPair();
    // The paired pair syncs: a scan at south (the dialler) reaches north.
    const scanned = await postScan(b.url, { code: 'T-2', dir: 'in' });
    if (a.timeline.state('T-2')?.inside !== true) await scanArrives(a, scanned.body.scanId);
    expect((await getJson(`${a.url}/status`)).body.peers).toBe(1);
    // Scans made by a paired gate carry its MAC, made with its own scan key.
    const relayed = readScans(a.doc).find((s) => s.scanId === scanned.body.scanId)!;
    expect(verifyScanMac(deriveScanKey(TEST_EVENT_SECRET, EVENT, 'south'), relayed)).toBe(true);
    expect(verifyScanMac(deriveScanKey(TEST_EVENT_SECRET, EVENT, 'north'), relayed)).toBe(false);

    // What the probe of issue #11 did: an alg "none" token, and one signed with a wrong secret.
    const unsigned = new UnsecuredJWT({ role: 'gate', events: [EVENT], gate: 'south' }).setSubject('intruder').setExpirationTime('1h').encode();
    const wrongKey = await new SignJWT({ role: 'admin', events: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('intruder').setExpirationTime('1h').sign(new TextEncoder().encode('not-the-hub-secret-not-the-hub-secret'));
    for (const token of [unsigned, wrongKey]) expect(await tryUpgrade(a, { token })).toEqual({ status: 401, bytes: 0 });
    // A proof made with another event's (or a guessed) mesh key.
    expect(await tryUpgrade(a, await meshQuery(a, 'south', new Uint8Array(32).fill(9)))).toEqual({ status: 401, bytes: 0 });
    // A genuine proof replayed: its challenge is used up.
    const genuine = await meshQuery(a, 'south');
    expect((await tryUpgrade(a, genuine)).status).toBe(101);
    expect((await tryUpgrade(a, genuine)).status).toBe(401);
    // A proof for a gate the event does not have.
    expect((await tryUpgrade(a, await meshQuery(a, 'ghost'))).status).toBe(403);

    // Mutual: an impostor answering on a peer's address (right path, no proof) gets nothing from the dialler.
    const impostor = new WebSocketServerForTest();
    const dialler = await startPeerOf(await impostor.url());
    const attempt = await impostor.firstConnection;
    expect(attempt.received).toBe(0);
    expect(attempt.closedBeforeSync).toBe(true);
    expect(dialler.status().peers).toBe(0);
    await impostor.close();
  });

  it('an unpaired agent admits no peers (503) and dials none', async () => {
    const roster = await eventDoc({ 'T-1': ticket() });
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    await seedDataDir(dir, roster);
    const agent = await startAgent({ event: EVENT, gate: 'north', token: await mintToken({ gate: 'north' }), port: 0, host: '127.0.0.1', data: dir });
    cleanups.push(() => agent.close());
    expect((await tryUpgrade(agent, await meshQuery(agent, 'south'))).status).toBe(503);
  });
});

/** A y-websocket-path server that upgrades anyone and proves nothing: what an impostor on the LAN would run. */
class WebSocketServerForTest {
  readonly #server = (async () => {
    const { createServer } = await import('node:http');
    const { WebSocketServer } = await import('ws');
    const http = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ challenge: 'AAAAAAAAAAAAAAAAAAAAAA' }));
    });
    const wss = new WebSocketServer({ server: http });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    return { http, wss };
  })();
  readonly firstConnection = this.#server.then(
    ({ wss }) =>
      new Promise<{ received: number; closedBeforeSync: boolean }>((resolve) => {
        wss.once('connection', (ws) => {
          let received = 0;
          ws.on('message', (data: Buffer) => (received += data.length));
          ws.once('close', () => resolve({ received, closedBeforeSync: received === 0 }));
        });
      }),
  );

  async url(): Promise<string> {
    const { http } = await this.#server;
    return `ws://127.0.0.1:${(http.address() as { port: number }).port}`;
  }

  async close(): Promise<void> {
    const { http, wss } = await this.#server;
    for (const client of wss.clients) client.terminate();
    wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}

async function startPeerOf(peer: string): Promise<Agent> {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  await seedDataDir(dir, await eventDoc({ 'T-1': ticket() }));
  await pairLocally(dir, 'south');
  const agent = await startAgent({ event: EVENT, gate: 'south', token: await mintToken({ gate: 'south' }), port: 0, host: '127.0.0.1', data: dir, peer: [peer] });
  cleanups.push(() => agent.close());
  return agent;
}
