import { randomUUID } from 'node:crypto';
import { LocalRedisCluster } from '@opshub/deploy/local/redis-cluster';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BusUnavailableError, type BusMessage } from '../../src/bus/bus.ts';
import { silentBusLog } from '../../src/bus/bus-log.ts';
import { keySlot } from '../../src/bus/redis/key-slot.ts';
import { KeySpace } from '../../src/bus/redis/keys.ts';
import { RedisBus, type RedisBusOptions } from '../../src/bus/redis/redis-bus.ts';
import { describeWithTool } from '../support/services.ts';
import { busContract, collect, collectSignals } from './bus-contract.ts';

/**
 * The Redis bus on a real Redis Cluster: three primaries with a replica each, started for this file from the
 * machine's redis-server (`--cluster-enabled yes`, `redis-cli --cluster create`), 1 s node timeout.
 */
describeWithTool('redis-server', 'RedisBus on a Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  const buses: RedisBus[] = [];
  const admins: Redis[] = [];

  function open(options: Partial<RedisBusOptions> = {}): RedisBus {
    const bus = new RedisBus({ url: cluster.url, keyPrefix: `t:${randomUUID()}:`, log: silentBusLog, ...options });
    buses.push(bus);
    return bus;
  }

  /** A plain connection to one node, for looking at what the bus did there. */
  async function node(address: string): Promise<Redis> {
    const [host, port] = address.split(':');
    const redis = new Redis({ host, port: Number(port), lazyConnect: true });
    admins.push(redis);
    await redis.connect();
    return redis;
  }

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1000 });
  }, 90_000);

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
    for (const redis of admins.splice(0)) redis.disconnect();
  });

  afterAll(async () => {
    await cluster?.close();
  });

  busContract(
    'RedisBus (cluster)',
    ({ namespace, retention }) => new RedisBus({ url: cluster.url, keyPrefix: `c:${namespace}:`, retention, log: silentBusLog }),
    { crossNodeSignals: true },
  );

  describe('on the cluster itself', () => {
    it("keeps each topic's counter, history and channel in one slot on the primary that owns it, and spreads topics over every primary", async () => {
      const keyPrefix = `t:${randomUUID()}:`;
      const bus = open({ keyPrefix });
      await bus.start();
      const keys = new KeySpace(keyPrefix);
      const owners = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const topic = `event/e${i}/alerts`;
        await bus.publish(topic, { i });
        const k = keys.topic(topic);
        const owner = await cluster.primaryOf(k.slot);
        owners.add(owner);
        const redis = await node(owner);
        // On the owner itself, without redirection: the keys are there and share the channel's slot.
        expect(await redis.exists(k.seq, k.log, k.times)).toBe(3);
        expect(new Set(await Promise.all([k.seq, k.log, k.times, k.channel].map((key) => redis.cluster('KEYSLOT', key))))).toEqual(new Set([k.slot]));
      }
      expect(owners).toEqual(new Set(await cluster.primaries()));
    });

    it('uses sharded pub/sub: subscribed on the owning primary only, and nothing on the classic channel anywhere', async () => {
      const keyPrefix = `t:${randomUUID()}:`;
      const [subscriber, publisher] = [open({ keyPrefix }), open({ keyPrefix })];
      await Promise.all([subscriber.start(), publisher.start()]);
      const topic = `event/${randomUUID().slice(0, 8)}/alerts`;
      const { channel, slot } = new KeySpace(keyPrefix).topic(topic);
      const received = collect();
      await subscriber.subscribe(topic, received.listener);

      const owner = await cluster.primaryOf(slot);
      for (const primary of await cluster.primaries()) {
        const [, count] = (await (await node(primary)).call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
        expect(count, primary).toBe(primary === owner ? 1 : 0);
      }
      // A classic SUBSCRIBE on every primary: PUBLISH would reach each of them (it is broadcast over the cluster
      // bus); SPUBLISH reaches none.
      const classic: string[] = [];
      for (const primary of await cluster.primaries()) {
        const listener = await node(primary);
        listener.on('message', (_channel: string, message: string) => classic.push(`${primary} ${message}`));
        await listener.subscribe(channel);
      }
      await publisher.publish(topic, { sharded: true });
      await received.until(1);
      // Both connections of the owner carry the message in order; a second publish after it proves the first passed.
      await publisher.publish(topic, { sharded: 2 });
      await received.until(2);
      expect(classic).toEqual([]);
      expect(received.messages.map((m) => JSON.parse(m.frame).data)).toEqual([{ sharded: true }, { sharded: 2 }]);
    });

    it('acknowledges a publish only once a replica of its shard holds it', async () => {
      const keyPrefix = `t:${randomUUID()}:`;
      const bus = open({ keyPrefix });
      await bus.start();
      const topic = `event/${randomUUID().slice(0, 8)}/checkins`;
      const k = new KeySpace(keyPrefix).topic(topic);
      const owner = await cluster.primaryOf(k.slot);
      const replicaAddress = await replicaOf(owner);
      const replica = await node(replicaAddress);
      await replica.call('READONLY');
      for (let i = 1; i <= 20; i++) {
        const { seq } = await bus.publish(topic, { i });
        // Read at once from the replica: WAIT made the primary hold the reply until the replica confirmed.
        expect(Number(await replica.get(k.seq))).toBe(seq);
      }
    });

    it('a killed primary loses nothing acknowledged: listeners get every message once and in order, and since resumes', async () => {
      const keyPrefix = `t:${randomUUID()}:`;
      const publisher = open({ keyPrefix });
      const subscriber = open({ keyPrefix });
      await Promise.all([publisher.start(), subscriber.start()]);
      const keys = new KeySpace(keyPrefix);

      const victim = (await cluster.primaries())[0]!;
      // Three topics on the primary that will be killed, two elsewhere.
      const onVictim: string[] = [];
      const elsewhere: string[] = [];
      for (let i = 0; onVictim.length < 3 || elsewhere.length < 2; i++) {
        const topic = `event/f${i}/chat/main`;
        const list = (await cluster.primaryOf(keys.topic(topic).slot)) === victim ? onVictim : elsewhere;
        if (list.length < (list === onVictim ? 3 : 2)) list.push(topic);
      }
      const topics = [...onVictim, ...elsewhere];
      const received = new Map(topics.map((t) => [t, collect()]));
      for (const topic of topics) await subscriber.subscribe(topic, received.get(topic)!.listener);
      // Signals on a channel of the victim's shard must also come back after the failover.
      let signalChannel = '';
      for (let i = 0; signalChannel === ''; i++) {
        const candidate = `yjs/event/f${i}/gate`;
        if ((await cluster.primaryOf(keySlot(`${keyPrefix}signal:${candidate}`))) === victim) signalChannel = candidate;
      }
      const signals = collectSignals();
      await subscriber.onSignal(signalChannel, signals.listener);

      const acked = new Map<string, BusMessage[]>(topics.map((t) => [t, []]));
      let refused = 0;
      const unexpected: unknown[] = [];
      let stop = false;
      let n = 0;
      const load = (async () => {
        while (!stop) {
          const topic = topics[n % topics.length]!;
          const data = { n: n++ };
          try {
            acked.get(topic)!.push(await publisher.publish(topic, data));
          } catch (err) {
            if (!(err instanceof BusUnavailableError)) unexpected.push(err);
            refused++;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      })();
      const ackedOnVictim = () => onVictim.reduce((sum, t) => sum + acked.get(t)!.length, 0);
      await vi.waitFor(() => expect(ackedOnVictim()).toBeGreaterThanOrEqual(60), { timeout: 20_000, interval: 20 });

      await cluster.kill(victim);
      const killedAt = performance.now();
      await cluster.waitForFailover(victim);
      const before = ackedOnVictim();
      await vi.waitFor(() => expect(ackedOnVictim()).toBeGreaterThanOrEqual(before + 60), { timeout: 30_000, interval: 20 });
      const backAfterMs = performance.now() - killedAt;
      stop = true;
      await load;
      expect(unexpected).toEqual([]);

      // A marker per topic: once it arrived, every earlier seq would have.
      for (const topic of topics) {
        const marker = await publisher.publish(topic, { marker: true });
        acked.get(topic)!.push(marker);
        await vi.waitFor(() => expect(received.get(topic)!.messages.at(-1)?.seq).toBe(marker.seq), { timeout: 20_000, interval: 20 });
      }
      for (const topic of topics) {
        const got = received.get(topic)!.messages;
        // Once and in order, with no gap: the subscription began before the first publish.
        expect(got.map((m) => m.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
        // Every acknowledged publish arrived under its own seq, with its own data: no seq was reused.
        const bySeq = new Map(got.map((m) => [m.seq, m.frame]));
        for (const message of acked.get(topic)!) expect(bySeq.get(message.seq)).toBe(message.frame);
        // A client resuming with since gets the same messages from history.
        const since = Math.max(0, got.length - 40);
        const history = await subscriber.history(topic, since);
        expect(history.kind === 'messages' && history.messages.map((m) => m.frame)).toEqual(got.slice(since).map((m) => m.frame));
      }
      await vi.waitFor(() => expect(subscriber.isHealthy() && publisher.isHealthy()).toBe(true), { timeout: 20_000 });
      // Signals: unsequenced and unretained, so send until one arrives on the new primary's shard.
      await vi.waitFor(
        async () => {
          await publisher.signal(signalChannel, new Uint8Array([7]));
          expect(signals.received.length).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 100 },
      );
      console.info(`failover: ${refused} publishes refused while the shard had no primary; publishing on it again ${Math.round(backAfterMs)} ms after kill -9`);

      await cluster.restart(victim); // back as a replica, for whatever runs after
      await cluster.waitUntilHealthy();
    }, 120_000);
  });

  async function replicaOf(primary: string): Promise<string> {
    const nodes = String(await (await node(primary)).cluster('NODES')).split('\n');
    const primaryId = nodes.find((line) => line.includes(`${primary}@`))!.split(' ')[0]!;
    const replica = nodes.find((line) => line.split(' ')[3] === primaryId)!;
    return replica.split(' ')[1]!.split('@')[0]!;
  }
});
