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
    const bus = new MemoryBus({ retention: { messages: 100, ms: 0, maxMessages: 100, maxBytes: 1 << 20 }, log: silentBusLog });
    for (let i = 1; i <= 5000; i++) await bus.publish('t', i);
    const history = await bus.history('t', 4950);
    expect(history.kind === 'messages' && history.messages.map((m) => JSON.parse(m.frame).data)).toEqual(
      Array.from({ length: 50 }, (_, i) => 4951 + i),
    );
    expect(await bus.history('t', 4899)).toEqual({ kind: 'reset', head: 5000 });
    await bus.close();
  });
});

describe('MemoryBus replay budget (all topics together)', () => {
  it('drops the oldest frames of the whole process beyond the budget; a since within what is left replays gap-free', async () => {
    const retention = { messages: 10_000, ms: 60 * 60_000, maxMessages: 100_000, maxBytes: 1 << 20 };
    const bus = new MemoryBus({ retention, budgetBytes: 20_000, log: silentBusLog });
    const pad = 'x'.repeat(900);
    const sizes = new Map<string, number[]>();
    // Two topics interleaved, about 1 KiB a frame: the budget, not the per-topic caps, decides what stays.
    for (let i = 1; i <= 30; i++) {
      for (const t of ['a', 'b']) {
        const m = await bus.publish(t, { i, pad });
        sizes.set(t, [...(sizes.get(t) ?? []), Buffer.byteLength(m.frame)]);
      }
    }
    expect(bus.retainedBytes()).toBeLessThanOrEqual(20_000);
    // Oldest first across the process: both topics keep about the same number of their newest frames.
    const oldest: Record<string, number> = {};
    for (const t of ['a', 'b']) {
      const all = await bus.history(t, 0);
      expect(all.kind).toBe('reset');
      let since = 0;
      while ((await bus.history(t, since)).kind === 'reset') since++;
      oldest[t] = since + 1;
      const replay = await bus.history(t, since);
      expect(replay.kind === 'messages' && replay.messages.map((m) => JSON.parse(m.frame).data.i)).toEqual(
        Array.from({ length: 30 - since }, (_, k) => since + 1 + k),
      );
    }
    expect(Math.abs(oldest.a! - oldest.b!)).toBeLessThanOrEqual(1);
    const keptBytes = ['a', 'b'].reduce((sum, t) => sum + sizes.get(t)!.slice(oldest[t]! - 1).reduce((x, y) => x + y, 0), 0);
    expect(keptBytes).toBe(bus.retainedBytes());
    // Dropping any more would have been unnecessary: one more frame would not have fitted.
    expect(keptBytes + 1000).toBeGreaterThan(20_000);
    await bus.close();
  });

  it('counts exactly what topics that trim themselves still hold, and still enforces the budget after', async () => {
    const retention = { messages: 1, ms: 0, maxMessages: 1, maxBytes: 1 << 20 };
    const bus = new MemoryBus({ retention, budgetBytes: 1500, log: silentBusLog });
    const quiet = await bus.publish('quiet', { first: true }); // the oldest of the process, for good
    let last = quiet;
    for (let i = 0; i < 5000; i++) last = await bus.publish('busy', { i });
    expect(bus.retainedBytes()).toBe(Buffer.byteLength(quiet.frame) + Buffer.byteLength(last.frame));
    // Now over the budget: the process's oldest (the quiet topic's) goes first.
    const big = await bus.publish('busy', { pad: 'x'.repeat(1400) });
    expect(bus.retainedBytes()).toBe(Buffer.byteLength(big.frame));
    expect(await bus.history('quiet', 0)).toEqual({ kind: 'reset', head: 1 });
    await bus.close();
  });
});

describe('bus construction', () => {
  it('refuses a retention that contradicts itself', async () => {
    const { RedisBus } = await import('../../src/bus/redis/redis-bus.ts');
    for (const retention of [
      { messages: 10, ms: 0, maxMessages: 5, maxBytes: 1 << 20 },
      { messages: 0, ms: 0, maxMessages: 0, maxBytes: 1 << 20 },
      { messages: -1, ms: 0, maxMessages: 5, maxBytes: 1 << 20 },
      { messages: 1, ms: 0.5, maxMessages: 5, maxBytes: 1 << 20 },
    ]) {
      expect(() => new MemoryBus({ retention })).toThrow(RangeError);
      // The Redis bus connects lazily, so constructing it needs no server.
      expect(() => new RedisBus({ url: 'redis://127.0.0.1:1', retention })).toThrow(RangeError);
    }
  });
});
