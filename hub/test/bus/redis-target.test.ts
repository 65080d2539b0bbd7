import { describe, expect, it } from 'vitest';
import { ClusterTopology } from '../../src/bus/redis/cluster-topology.ts';
import { keySlot } from '../../src/bus/redis/key-slot.ts';
import { KeySpace } from '../../src/bus/redis/keys.ts';
import { RedisTargetError, clusterUrlFromNodes, parseRedisTarget } from '../../src/bus/redis/redis-target.ts';

describe('parseRedisTarget', () => {
  it('hands redis:// and rediss:// URLs to ioredis unchanged', () => {
    expect(parseRedisTarget('redis://:pw@r:6379/2')).toEqual({ kind: 'single', url: 'redis://:pw@r:6379/2' });
    expect(parseRedisTarget('rediss://r:6380')).toEqual({ kind: 'single', url: 'rediss://r:6380' });
  });

  it('reads a cluster URL: seed nodes, credentials, TLS', () => {
    expect(parseRedisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7001/')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://ops:p%40ss%3Aword@[::1]:7000,redis-a:7000')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '::1', port: 7000 },
        { host: 'redis-a', port: 7000 },
      ],
      username: 'ops',
      password: 'p@ss:word',
      tls: true,
    });
    expect(parseRedisTarget('redis+cluster://:secret@r1:7000')).toMatchObject({ username: undefined, password: 'secret' });
  });

  it.each([
    ['http://r:6379', /expected a redis:\/\//],
    ['redis+cluster://r1', /"r1" .* is not host:port/],
    ['redis+cluster://r1:7000,,r2:7000', /"" .* is not host:port/],
    ['redis+cluster://r1:99999', /is not host:port/],
    ['redis+cluster://r1:7000/0', /no database or options/],
    ['redis+cluster://:hunter2@r1', /redis\+cluster:\/\/:\*\*\*@r1/],
  ])('refuses %s with a message that says why (and never shows a password)', (url, message) => {
    expect(() => parseRedisTarget(url)).toThrow(RedisTargetError);
    expect(() => parseRedisTarget(url)).toThrow(message);
    try {
      parseRedisTarget(url);
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('turns REDIS_CLUSTER_NODES into the cluster URL it means', () => {
    expect(clusterUrlFromNodes(' r1:7000, r2:7000 ,')).toBe('redis+cluster://r1:7000,r2:7000');
    expect(() => clusterUrlFromNodes('r1')).toThrow(RedisTargetError);
  });
});

describe('cluster slots', () => {
  // Expected values from `CLUSTER KEYSLOT` on Redis 7 (and the cluster specification's CRC16 check value).
  it.each([
    ['123456789', 12739],
    ['foo', 12182],
    ['{user1000}.following', 3443],
    ['a{}b', 13694],
    ['{}{x}', 3257],
    ['zürich会议', 11327],
    ['opshub:signal:yjs/event/x/gate', 1074],
  ])('keySlot(%j) is %i, as Redis computes it', (key, slot) => {
    expect(keySlot(key)).toBe(slot);
  });

  it('puts every key and the channel of a topic in one slot, whatever the topic', () => {
    const keys = new KeySpace('opshub:');
    for (const topic of ['event/expo/alerts', 'event/x/chat/{room}', 'event/a}b/c', 'zürich "quoted"']) {
      const k = keys.topic(topic);
      expect(new Set([k.seq, k.log, k.times, k.channel].map(keySlot))).toEqual(new Set([k.slot]));
    }
    expect(() => new KeySpace('ops{hub}:')).toThrow(RangeError);
  });

  it('reads CLUSTER SLOTS: the primary of each slot and its online replicas', () => {
    const topology = ClusterTopology.fromSlotsReply(
      [
        [0, 5460, ['10.0.0.1', 7000, 'id1', []], ['10.0.0.4', 7000, 'id4', []]],
        [5461, 10922, ['', 7001, 'id2', []]],
        [10923, 16383, ['::1', 7002, 'id3', []], ['10.0.0.5', 7000, 'id5'], ['10.0.0.6', 7000, 'id6']],
      ],
      '10.0.0.9',
    );
    expect([topology.primaryOf(0), topology.replicasOf(0)]).toEqual(['10.0.0.1:7000', 1]);
    expect([topology.primaryOf(8000), topology.replicasOf(8000)]).toEqual(['10.0.0.9:7001', 0]);
    expect([topology.primaryOf(16383), topology.replicasOf(16383)]).toEqual(['[::1]:7002', 2]);
    expect(topology.primaries).toEqual(['10.0.0.1:7000', '10.0.0.9:7001', '[::1]:7002']);
    expect(ClusterTopology.fromSlotsReply([], 'x').primaryOf(0)).toBeUndefined();
    expect(topology.equals(ClusterTopology.fromSlotsReply([[0, 16383, ['10.0.0.1', 7000]]], 'x'))).toBe(false);
  });
});
