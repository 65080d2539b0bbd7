import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRedisCluster } from '@opshub/deploy/local/redis-cluster';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeySpace } from '../../src/bus/redis/keys.ts';
import { until } from '../gates/edge-fleet.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { describeWithTool } from '../support/services.ts';
import { minter, testSecret } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';

/**
 * Two hub processes on a Redis Cluster (3 primaries, a replica each, 1 s node timeout): `kill -9` of the primary that
 * owns live topics while clients on both hubs send announcements and others listen. The replica is promoted; every
 * acknowledged message reaches the listeners once and in seq order, and a client that dropped before the kill
 * resumes after the failover with `since`, gap-free.
 */
describeWithTool('redis-server', 'two hubs on a Redis Cluster through a primary failover', () => {
  const run = Date.now().toString(36);
  const dirs: string[] = [];
  let cluster: LocalRedisCluster;
  let a: HubProcess;
  let b: HubProcess;
  let victim = '';
  /** Two events whose announcements live on the primary to be killed, one elsewhere. */
  const events: string[] = [];
  const topicOf = (event: string) => `event/${event}/announcements`;
  const staffToken = () => minter.mint({ sub: 'staff-1', role: 'staff', events: events });

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1000 });
    victim = (await cluster.primaries())[0]!;
    // The hub's own key space (default prefix): pick events by the primary that owns their topic's slot.
    const keys = new KeySpace('opshub:');
    // The two on the victim first: the test reads them as events[0] and events[1].
    const owner = await cluster.slotOwners();
    const onVictim: string[] = [];
    const elsewhere: string[] = [];
    for (let i = 0; onVictim.length < 2 || elsewhere.length < 1; i++) {
      const event = `f${run}${i}`;
      const list = owner(keys.topic(topicOf(event)).slot) === victim ? onVictim : elsewhere;
      if (list.length < (list === onVictim ? 2 : 1)) list.push(event);
    }
    events.push(...onVictim, ...elsewhere);
    const env = async () => {
      const dir = await mkdtemp(join(tmpdir(), 'opshub-failover-'));
      dirs.push(dir);
      return { REDIS_URL: cluster.url, HUB_JWT_SECRET: testSecret, DATA_DIR: dir };
    };
    [a, b] = await Promise.all([startHubProcess(await env(), 150_000), startHubProcess(await env(), 150_000)]);
    // Each hub has its own embedded store here; the events must exist in both for commands to run on both.
    const admin = await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
    for (const hub of [a, b]) {
      for (const id of events) {
        const res = await fetch(`${hub.httpUrl}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ id, name: id, zones: [], gates: [] }) });
        expect(res.status).toBe(201);
      }
    }
  }, 240_000);

  afterAll(async () => {
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await cluster?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('loses nothing acknowledged, delivers once and in order, and resumes with since after kill -9 of a primary', async () => {
    const topics = events.map(topicOf);
    const listeners = [await TestClient.connect(a.wsUrl, await staffToken()), await TestClient.connect(b.wsUrl, await staffToken())];
    const base = new Map<string, number>();
    for (const topic of topics) {
      for (const listener of listeners) base.set(topic, ((await listener.subscribe(topic)).result as { seq: number }).seq);
    }
    // A client that will drop just before the kill and come back after the failover with since.
    const dropper = await TestClient.connect(b.wsUrl, await staffToken());
    for (const topic of topics) await dropper.subscribe(topic);

    const senders = [await TestClient.connect(a.wsUrl, await staffToken()), await TestClient.connect(b.wsUrl, await staffToken())];
    const acked = new Map<string, { seq: number; text: string }[]>(topics.map((t) => [t, []]));
    const refusals: Frame[] = [];
    let stop = false;
    let n = 0;
    const loadErrors: unknown[] = [];
    const load = senders.map(async (sender) => {
      while (!stop) {
        try {
          const i = n++;
          const event = events[i % events.length]!;
          const text = `m${i}`;
          const reply = await sender.command('announce.send', { event, text, level: 'info' });
          if (reply.op === 'ok') {
            acked.get(topicOf(event))!.push({ seq: (reply.result as { seq: number }).seq, text });
            if (promotedAt > 0 && firstAckAfterPromotion === 0 && i % events.length < 2) firstAckAfterPromotion = performance.now();
          }
          else {
            refusals.push(reply);
            await new Promise((r) => setTimeout(r, 50)); // a client backing off while the shard has no primary
          }
        } catch (err) {
          loadErrors.push(err); // a closed socket: the assertions below report it
          return;
        }
      }
    });
    const ackedOnVictim = () => topics.slice(0, 2).reduce((sum, t) => sum + acked.get(t)!.length, 0);
    const stopped = (async () => {
      await Promise.all(load);
      stop = true;
    })();
    let seen = new Map<string, number>();
    let promotedAt = 0;
    let firstAckAfterPromotion = 0;
    let promotedMs = 0;
    let before = 0;
    let backMs = 0;
    try {
      await until(async () => ackedOnVictim(), (count) => count >= 40, 'announcements on the victim shard', 60_000);
      // The dropper leaves having seen everything up to some seq on each topic.
      seen = new Map(topics.map((t) => [t, (dropper.messages(t).at(-1)?.seq as number | undefined) ?? base.get(t)!]));
      await dropper.close();

      await cluster.kill(victim);
      const killedAt = performance.now();
      await cluster.waitForFailover(victim);
      promotedAt = performance.now();
      promotedMs = promotedAt - killedAt;
      before = ackedOnVictim();
      await until(async () => ackedOnVictim(), (count) => count >= before + 40, 'announcements on the promoted replica', 120_000);
      backMs = performance.now() - killedAt;
    } finally {
      stop = true;
      await stopped;
    }
    expect(loadErrors).toEqual([]);
    // Publishing on the promoted primary resumes within seconds of the promotion. It took 21-70 s when every publish
    // sent its own WAIT over the primary's one connection (see replicated-publisher.ts); the bound is generous.
    const resumedMs = firstAckAfterPromotion - promotedAt;
    expect(firstAckAfterPromotion).toBeGreaterThan(0);
    expect(resumedMs).toBeLessThan(15_000);

    // Refusals while the shard had no primary say so (unavailable), nothing else.
    expect(refusals.filter((r) => r.code !== 'unavailable')).toEqual([]);

    // A last message per topic: once a listener has it, it has had the chance to receive every earlier one.
    const last = new Map<string, number>();
    for (const topic of topics) {
      const reply = await senders[0]!.command('announce.send', { event: topic.split('/')[1], text: 'last', level: 'info' });
      expect(reply.op).toBe('ok');
      const seq = (reply.result as { seq: number }).seq;
      acked.get(topic)!.push({ seq, text: 'last' });
      last.set(topic, seq);
    }
    for (const listener of listeners) {
      for (const topic of topics) {
        await listener.next((f) => f.op === 'msg' && f.topic === topic && f.seq === last.get(topic), 30_000);
        const got = listener.messages(topic);
        // Once, in order, no gap, from the subscription on.
        expect(got.map((m) => m.seq)).toEqual(Array.from({ length: got.length }, (_, i) => base.get(topic)! + 1 + i));
        // Every acknowledged announcement under its own seq: nothing lost, no seq handed to another message.
        const bySeq = new Map(got.map((m) => [m.seq, (m.data as { text: string }).text]));
        for (const { seq, text } of acked.get(topic)!) expect(bySeq.get(seq), `${topic} seq ${seq}`).toBe(text);
      }
      expect(listener.frames.filter((f) => f.op === 'reset')).toEqual([]);
    }

    // The dropper comes back (on the other hub) with since: everything it missed, across the failover, once.
    const back = await TestClient.connect(a.wsUrl, await staffToken());
    for (const topic of topics) {
      await back.subscribe(topic, seen.get(topic)!);
      await back.next((f) => f.op === 'msg' && f.topic === topic && f.seq === last.get(topic), 30_000);
      const got = back.messages(topic);
      expect(got.map((m) => m.seq)).toEqual(Array.from({ length: last.get(topic)! - seen.get(topic)! }, (_, i) => seen.get(topic)! + 1 + i));
      expect(got.map((m) => m.data)).toEqual(listeners[0]!.messages(topic).filter((m) => (m.seq as number) > seen.get(topic)!).map((m) => m.data));
    }
    console.info(
      `redis cluster failover under two hubs: replica promoted ${Math.round(promotedMs)} ms after kill -9, ` +
        `publishing on that shard resumed ${Math.round(resumedMs)} ms after the promotion, ${ackedOnVictim() - before} more acknowledged on it within ${Math.round(backMs)} ms of the kill; ` +
        `${refusals.length} commands refused (unavailable) meanwhile; ${[...acked.values()].reduce((s, l) => s + l.length, 0)} acknowledged, none lost`,
    );
    await Promise.all([...listeners, ...senders, back].map((c) => c.close()));
  }, 240_000);
});
