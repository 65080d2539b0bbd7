import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { appendScan, encodeMessage, gateDocTypes, readScans } from '@opshub/replica';
import { startAgent, type Agent } from '../src/agent.ts';
import { eventDoc, EVENT, meshQuery, mintToken, pairLocally, postScan, scanArrives, seedDataDir, tempDir, ticket } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function agentWithRoster(): Promise<Agent> {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  await seedDataDir(dir, await eventDoc({ 'T-1': ticket(), 'T-2': ticket({ holder: 'Grace Hopper' }) }));
  await pairLocally(dir, 'north');
  const agent = await startAgent({ event: EVENT, gate: 'north', token: await mintToken({ gate: 'north' }), port: 0, host: '127.0.0.1', data: dir });
  cleanups.push(() => agent.close());
  return agent;
}

/** A provider proving the mesh key (its params hold one challenge: it is not meant to reconnect). */
function provider(agent: Agent, params: Record<string, string>, doc = new Y.Doc()): WebsocketProvider {
  const p = new WebsocketProvider(`ws://127.0.0.1:${agent.port}/yjs`, `event/${EVENT}/gate`, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params,
    disableBc: true,
  });
  cleanups.push(() => p.destroy());
  return p;
}

describe('an unmodified y-websocket WebsocketProvider', () => {
  it('syncs the doc, sees a scan made at the agent, and its own scan reaches the agent', async () => {
    const agent = await agentWithRoster();
    const doc = new Y.Doc();
    const p = provider(agent, await meshQuery(agent, 'south'), doc);
    await new Promise<void>((resolve) => p.once('sync', (synced: boolean) => synced && resolve()));
    expect(gateDocTypes(doc).tickets.size).toBe(2);

    const seen = new Promise<void>((resolve) => gateDocTypes(doc).scans.observe(() => resolve()));
    const scanned = await postScan(agent.url, { code: 'T-2' });
    await seen;
    expect(readScans(doc)).toMatchObject([{ scanId: scanned.body.scanId, code: 'T-2', verdict: 'admitted' }]);

    const arrives = scanArrives(agent, 'from-provider-0001');
    appendScan(doc, { scanId: 'from-provider-0001', code: 'T-1', gate: 'south', device: 'browser-1', dir: 'in', at: Date.now(), verdict: 'admitted' });
    await arrives;
    expect((await postScan(agent.url, { code: 'T-1' })).body).toMatchObject({ verdict: 'already_in', already: { gate: 'south' } });
  });

  it.each([
    ['without anything', undefined, 401],
    ["with a gate token (tokens do not open the mesh)", 'token', 401],
    ["with a proof of another event's key", 'other', 401],
  ])('is refused %s before the upgrade', async (_name, kind, status) => {
    const agent = await agentWithRoster();
    const query = kind === 'token' ? `?token=${await mintToken()}` : kind === 'other' ? `?${new URLSearchParams(await meshQuery(agent, 'south', new Uint8Array(32).fill(1)))}` : '';
    const socket = new WebSocket(`ws://127.0.0.1:${agent.port}/yjs/event/${EVENT}/gate${query}`);
    socket.on('error', () => {});
    const answered = await new Promise<number>((resolve) => {
      socket.once('unexpected-response', (request, response) => {
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      socket.once('open', () => resolve(101));
    });
    socket.terminate();
    expect(answered).toBe(status);
  });
});

describe('a malformed Yjs frame', () => {
  it('closes that socket with 1007 and leaves the doc intact', async () => {
    const agent = await agentWithRoster();
    await postScan(agent.url, { code: 'T-1' });
    const before = Y.encodeStateAsUpdate(agent.doc);
    const socket = new WebSocket(`ws://127.0.0.1:${agent.port}/yjs/event/${EVENT}/gate?${new URLSearchParams(await meshQuery(agent))}`);
    cleanups.push(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    // A sync update whose payload claims 200 bytes but carries 3.
    socket.send(new Uint8Array([0, 2, 200, 1, 1, 1, 7]));
    expect(await closed).toBe(1007);
    expect(Y.encodeStateAsUpdate(agent.doc)).toEqual(before);
    // The agent carries on: scans and other sockets work.
    expect((await postScan(agent.url, { code: 'T-2' })).body.verdict).toBe('admitted');
    const doc = new Y.Doc();
    const p = provider(agent, await meshQuery(agent), doc);
    await new Promise<void>((resolve) => p.once('sync', (synced: boolean) => synced && resolve()));
    expect(readScans(doc)).toHaveLength(2);
  });

  it('a well-framed update with a bad scan record closes the socket with 1008 and is not applied', async () => {
    const agent = await agentWithRoster();
    const before = Y.encodeStateAsUpdate(agent.doc);
    const forged = new Y.Doc();
    Y.applyUpdate(forged, before);
    const updates: Uint8Array[] = [];
    forged.on('update', (u: Uint8Array) => updates.push(u));
    gateDocTypes(forged).scans.set('bad-scan-0001', { verdict: 'vip' });
    const socket = new WebSocket(`ws://127.0.0.1:${agent.port}/yjs/event/${EVENT}/gate?${new URLSearchParams(await meshQuery(agent))}`);
    cleanups.push(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(encodeMessage({ kind: 'sync-update', update: updates[0]! }));
    expect(await closed).toBe(1008);
    expect(Y.encodeStateAsUpdate(agent.doc)).toEqual(before);
  });
});
