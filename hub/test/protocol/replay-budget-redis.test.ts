import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { defaultRetention } from '../../src/bus/bus.ts';
import { silentBusLog } from '../../src/bus/bus-log.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { describeWithService } from '../support/services.ts';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { replayBudgetSuite, topicBytes } from './replay-budget.ts';

describeWithService('REDIS_URL', 'resume against a byte-budgeted history: Redis bus', (url) => {
  const keyPrefix = `opshub-test:${randomBytes(6).toString('hex')}:`;
  let t: TestHub;

  beforeAll(async () => {
    const bus = new RedisBus({ url, keyPrefix, retention: { ...defaultRetention, maxBytes: topicBytes }, log: silentBusLog });
    t = await startTestHub({ bus });
    const res = await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify(expoEvent) });
    expect(res.status).toBe(201);
  });

  afterAll(async () => {
    await t?.close();
    const admin = new Redis(url);
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.unlink(...keys);
    await admin.quit();
  });

  replayBudgetSuite(() => t);
});
