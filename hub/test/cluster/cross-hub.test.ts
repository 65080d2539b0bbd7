import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithService } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/** Two hub processes on one real Redis, as they run behind a load balancer. */
describeWithService('REDIS_URL', 'two hubs on one Redis', (redisUrl) => {
  // A fresh event id per run keeps this run's topics apart from any other run sharing the Redis.
  const event = `x${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const topic = `event/${event}/announcements`;
  const dirs: string[] = [];
  let proxy: TcpProxy;
  let a: HubProcess;
  let b: HubProcess;
  const staffToken = () => minter.mint({ sub: 'staff-1', role: 'staff', events: [event] });

  beforeAll(async () => {
    const { hostname, port } = new URL(redisUrl);
    // Hub B reaches Redis through a proxy so one test can give it a real outage without touching the shared server.
    proxy = await TcpProxy.start(hostname, Number(port || 6379));
    const env = async (url: string) => {
      const dir = await mkdtemp(join(tmpdir(), 'opshub-cluster-'));
      dirs.push(dir);
      return { REDIS_URL: url, HUB_JWT_SECRET: testSecret, DATA_DIR: dir };
    };
    [a, b] = await Promise.all([startHubProcess(await env(redisUrl)), startHubProcess(await env(`redis://127.0.0.1:${proxy.port}`))]);
    // Each hub has its own embedded store here; the event must exist in both for commands to run on both.
    for (const hub of [a, b]) {
      const res = await fetch(`${hub.httpUrl}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] })}` },
        body: JSON.stringify({ id: event, name: 'Cluster test', zones: [], gates: [] }),
      });
      expect(res.status).toBe(201);
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('reports the redis bus in /healthz', async () => {
    expect(await (await fetch(`${a.httpUrl}/healthz`)).json()).toEqual({ ok: true, bus: 'redis', store: 'pglite', analytics: 'chdb' });
  });

  it('delivers a command on hub A to a subscriber on hub B, with seqs gap-free across both hubs', async () => {
    const onA = await TestClient.connect(a.wsUrl, await staffToken());
    const onB = await TestClient.connect(b.wsUrl, await staffToken());
    const base = ((await onA.subscribe(topic)).result as { seq: number }).seq;
    await onB.subscribe(topic);
    const senders = [await TestClient.connect(a.wsUrl, await staffToken()), await TestClient.connect(b.wsUrl, await staffToken())];
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) => senders[i % 2]!.command('announce.send', { event, text: `n${i}`, level: 'info' })),
    );
    expect(replies.every((r) => r.op === 'ok')).toBe(true);
    const seqs = replies.map((r) => (r.result as { seq: number }).seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => base + 1 + i));
    for (const client of [onA, onB]) {
      await client.next((f) => f.op === 'msg' && f.seq === base + 60);
      expect(client.messages(topic).map((m) => m.seq)).toEqual(seqs);
    }
    await Promise.all([onA, onB, ...senders].map((c) => c.close()));
  });

  it('resumes on the other hub with since: every missed message once, in order, then live', async () => {
    const watcher = await TestClient.connect(b.wsUrl, await staffToken());
    await watcher.subscribe(topic);
    const sender = await TestClient.connect(a.wsUrl, await staffToken());
    const first = await sender.command('announce.send', { event, text: 'before the drop', level: 'info' });
    const seen = (first.result as { seq: number }).seq;
    await watcher.next((f) => f.op === 'msg' && f.seq === seen);
    await watcher.close();

    for (let i = 0; i < 100; i++) {
      const reply = await sender.command('announce.send', { event, text: `missed ${i}`, level: 'info' });
      expect(reply.op).toBe('ok');
    }
    const back = await TestClient.connect(a.wsUrl, await staffToken());
    await back.subscribe(topic, seen);
    await back.next((f) => f.op === 'msg' && f.seq === seen + 100);
    const live = await sender.command('announce.send', { event, text: 'live again', level: 'info' });
    await back.next((f) => f.op === 'msg' && f.seq === (live.result as { seq: number }).seq);
    const got = back.messages(topic);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 101 }, (_, i) => seen + 1 + i));
    expect(got.slice(0, 100).map((m) => (m.data as { text: string }).text)).toEqual(Array.from({ length: 100 }, (_, i) => `missed ${i}`));
    await Promise.all([back.close(), sender.close()]);
  });

  it('while Redis is unreachable: /healthz says so, commands fail with unavailable and nothing is written', async () => {
    const sender = await TestClient.connect(b.wsUrl, await staffToken());
    const countStored = async () =>
      ((await (await fetch(`${b.httpUrl}/api/v1/events/${event}/announcements?limit=500`, { headers: { authorization: `Bearer ${await staffToken()}` } })).json()) as unknown[]).length;
    const storedBefore = await countStored();
    proxy.cut();
    await until(async () => (await fetch(`${b.httpUrl}/healthz`)).status === 503);
    expect(await (await fetch(`${b.httpUrl}/healthz`)).json()).toMatchObject({ ok: false, bus: 'redis' });
    const refused = await sender.command('announce.send', { event, text: 'lost?', level: 'emergency' });
    expect(refused).toMatchObject({ op: 'err', code: 'unavailable' });
    expect(await countStored()).toBe(storedBefore);

    proxy.restore();
    await until(async () => (await fetch(`${b.httpUrl}/healthz`)).status === 200, 20_000);
    expect(await sender.command('announce.send', { event, text: 'back', level: 'info' })).toMatchObject({ op: 'ok' });
    expect(await countStored()).toBe(storedBefore + 1);
    await sender.close();
  }, 40_000);
});

/** Polls an observable condition (a health endpoint has no event to await), bounded in time. */
async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
