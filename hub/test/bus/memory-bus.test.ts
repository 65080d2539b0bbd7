import { describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.ts';
import { silentBusLog } from '../../src/bus/bus-log.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { busContract, collect } from './bus-contract.ts';

// One process is one node: "another node on the same backend" is the same instance.
const nodes = new Map<string, Bus>();
busContract(
  'MemoryBus',
  ({ namespace, retention }) => {
    let bus = nodes.get(namespace);
    if (!bus) nodes.set(namespace, (bus = new MemoryBus({ retention, log: silentBusLog })));
    return bus;
  },
  { crossNodeSignals: false },
);

describe('MemoryBus', () => {
  it('has delivered to every listener by the time publish resolves', async () => {
    const bus = new MemoryBus({ log: silentBusLog });
    const received = collect();
    await bus.subscribe('t', received.listener);
    const pending = bus.publish('t', { x: 1 });
    expect(received.messages.map((m) => m.seq)).toEqual([1]); // before any await
    await pending;
    await bus.close();
  });

  it('retains across compactions of a long-running topic', async () => {
    const bus = new MemoryBus({ retention: { messages: 100, ms: 0, maxMessages: 100 }, log: silentBusLog });
    for (let i = 1; i <= 5000; i++) await bus.publish('t', i);
    const history = await bus.history('t', 4950);
    expect(history.kind === 'messages' && history.messages.map((m) => JSON.parse(m.frame).data)).toEqual(
      Array.from({ length: 50 }, (_, i) => 4951 + i),
    );
    expect(await bus.history('t', 4899)).toEqual({ kind: 'reset', head: 5000 });
    await bus.close();
  });
});

describe('bus construction', () => {
  it('refuses a retention that contradicts itself', async () => {
    const { RedisBus } = await import('../../src/bus/redis/redis-bus.ts');
    for (const retention of [
      { messages: 10, ms: 0, maxMessages: 5 },
      { messages: 0, ms: 0, maxMessages: 0 },
      { messages: -1, ms: 0, maxMessages: 5 },
      { messages: 1, ms: 0.5, maxMessages: 5 },
    ]) {
      expect(() => new MemoryBus({ retention })).toThrow(RangeError);
      // The Redis bus connects lazily, so constructing it needs no server.
      expect(() => new RedisBus({ url: 'redis://127.0.0.1:1', retention })).toThrow(RangeError);
    }
  });
});
