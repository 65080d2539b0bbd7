import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('chooses the embedded defaults on an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.dataDir).toMatch(/\/data$/);
    expect(config.databaseUrl ?? config.redisUrl ?? config.clickhouseUrl).toBeUndefined();
    expect(config.auth).toEqual({ kind: 'hs256', secret: undefined });
    expect(Object.isFrozen(config) && Object.isFrozen(config.auth)).toBe(true);
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '  ' }).redisUrl).toBeUndefined();
  });

  it('reads the distributed backends', () => {
    const config = loadConfig({ PORT: '9000', DATABASE_URL: 'postgres://u@db:5432/x', REDIS_URL: 'redis://r:6379', CLICKHOUSE_URL: 'http://ch:8123' });
    expect([config.port, config.databaseUrl, config.redisUrl, config.clickhouseUrl]).toEqual([9000, 'postgres://u@db:5432/x', 'redis://r:6379', 'http://ch:8123']);
  });

  it('selects a Redis Cluster from REDIS_CLUSTER_NODES or a redis+cluster:// URL', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000, r2:7000' }).redisUrl).toBe('redis+cluster://r1:7000,r2:7000');
    expect(loadConfig({ REDIS_URL: 'rediss+cluster://:pw@r1:7000,r2:7000' }).redisUrl).toBe('rediss+cluster://:pw@r1:7000,r2:7000');
    expect(() => loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r1:7000' })).toThrow(/REDIS_CLUSTER_NODES: set either REDIS_URL or REDIS_CLUSTER_NODES/);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ REDIS_CLUSTER_NODES: 'r1:7000,r2' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_URL: 'redis+cluster://r1' }, 'REDIS_URL'],
    [{ PORT: '70000' }, 'PORT'],
    [{ REDIS_URL: 'http://r:6379' }, 'REDIS_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ HUB_JWT_SECRET: 'short' }, 'HUB_JWT_SECRET'],
    [{ HUB_JWKS_URL: 'https://idp/jwks' }, 'HUB_JWT_ISSUER'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ TRUSTED_PROXIES: '10.0.0.0/8, proxy.internal' }, 'TRUSTED_PROXIES'],
    [{ TRUSTED_PROXIES: '10.0.0.0/33' }, 'TRUSTED_PROXIES'],
  ])('rejects %j naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable)).toContain(variable);
    expect((error as ConfigError).message).toContain(`${variable}:`);
  });

  it('reads the Stripe settings, STRIPE_API_URL as an http(s) URL', () => {
    expect(loadConfig({}).stripe).toEqual({ secretKey: undefined, webhookSecret: undefined, apiUrl: undefined });
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_1', STRIPE_WEBHOOK_SECRET: 'whsec_1', STRIPE_API_URL: 'http://127.0.0.1:12111' }).stripe).toEqual({
      secretKey: 'sk_test_1',
      webhookSecret: 'whsec_1',
      apiUrl: 'http://127.0.0.1:12111',
    });
    expect(() => loadConfig({ STRIPE_API_URL: 'stripe.local' })).toThrow(/STRIPE_API_URL/);
  });

  it('trusts no proxy by default, and reads TRUSTED_PROXIES as checked addresses and CIDR ranges', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ TRUSTED_PROXIES: '  ' }).trustedProxies).toEqual([]);
    const config = loadConfig({ TRUSTED_PROXIES: ' 10.0.0.5, 172.16.0.0/12,,FD00::/8 ' });
    expect(config.trustedProxies).toEqual(['10.0.0.5/32', '172.16.0.0/12', 'fd00::/8']);
    expect(Object.isFrozen(config.trustedProxies)).toBe(true);
    expect(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.1, localhost' })).toThrow(/TRUSTED_PROXIES: "localhost" is not an IP address or CIDR range/);
  });

  it('reads the replay byte budget in MiB: 64 for the process, 8 per topic unless set', () => {
    expect(loadConfig({}).replay).toEqual({ budgetBytes: 64 * 1024 * 1024, topicBytes: 8 * 1024 * 1024 });
    expect(loadConfig({ HUB_REPLAY_BUDGET_MB: '256', HUB_REPLAY_TOPIC_MB: '0.5' }).replay).toEqual({ budgetBytes: 256 * 1024 * 1024, topicBytes: 512 * 1024 });
    expect(() => loadConfig({ HUB_REPLAY_BUDGET_MB: '0' })).toThrow(/HUB_REPLAY_BUDGET_MB/);
    expect(() => loadConfig({ HUB_REPLAY_TOPIC_MB: 'lots' })).toThrow(/HUB_REPLAY_TOPIC_MB/);
  });

  it('serves the public port from one socket worker per core unless HUB_WORKERS says otherwise', () => {
    expect(loadConfig({}).hubWorkers).toBe(availableParallelism());
    expect(loadConfig({ HUB_WORKERS: '1' }).hubWorkers).toBe(1);
    expect(loadConfig({ HUB_WORKERS: '4' }).hubWorkers).toBe(4);
    expect(() => loadConfig({ HUB_WORKERS: '0' })).toThrow(/HUB_WORKERS/);
    expect(() => loadConfig({ HUB_WORKERS: 'all' })).toThrow(/HUB_WORKERS/);
  });

  it('takes a complete JWKS configuration', () => {
    const config = loadConfig({ HUB_JWKS_URL: 'https://idp.example/jwks', HUB_JWT_ISSUER: 'https://idp.example/', HUB_JWT_AUDIENCE: 'opshub' });
    expect(config.auth).toEqual({ kind: 'jwks', jwksUrl: 'https://idp.example/jwks', issuer: 'https://idp.example/', audience: 'opshub' });
  });
});
