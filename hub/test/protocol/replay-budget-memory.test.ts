import { afterAll, beforeAll, describe, expect } from 'vitest';
import { defaultRetention } from '../../src/bus/bus.ts';
import { silentBusLog } from '../../src/bus/bus-log.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { replayBudgetSuite, topicBytes } from './replay-budget.ts';

let t: TestHub;

beforeAll(async () => {
  const bus = new MemoryBus({ retention: { ...defaultRetention, maxBytes: topicBytes }, log: silentBusLog });
  t = await startTestHub({ bus });
  const res = await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify(expoEvent) });
  expect(res.status).toBe(201);
});
afterAll(() => t?.close());

describe('resume against a byte-budgeted history: in-process bus', () => {
  replayBudgetSuite(() => t);
});
