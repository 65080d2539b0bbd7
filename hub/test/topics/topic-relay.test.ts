import { afterEach, describe, expect, it } from 'vitest';
import { silentBusLog } from '../../src/bus/bus-log.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { loadNativeUws } from '../../src/native-uws.ts';
import { TopicRelay, type TopicRelayOptions } from '../../src/topics/topic-relay.ts';

/**
 * The relay's ring of recent frames per topic is bounded by bytes as well as by count. A real in-process bus whose
 * history keeps only the last 5 messages, so a `since` the ring does not reach and history does not either is
 * answered `reset`: that tells what the ring held without looking inside it. A real uWS app (not listening) does
 * the fan-out.
 */
const uws = loadNativeUws();
const HISTORY = 5;
const payload = 'x'.repeat(200);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A uWS app with a WebSocket route, listening on a free port (uWS's publish needs a running app). */
async function listeningApp() {
  const app = uws.App();
  app.ws('/*', {});
  const listen = await new Promise<unknown>((resolve) => app.listen('127.0.0.1', 0, resolve));
  if (!listen) throw new Error('the uWS app did not listen');
  closers.push(async () => uws.us_listen_socket_close(listen as never));
  return app;
}

async function setup(options: Partial<TopicRelayOptions>) {
  const bus = new MemoryBus({ retention: { messages: HISTORY, ms: 0, maxMessages: HISTORY, maxBytes: 1 << 20 }, log: silentBusLog });
  closers.push(() => bus.close());
  const relay = new TopicRelay(bus, await listeningApp(), { delivered: () => {} }, options);
  return { bus, relay };
}

/** Publishes `count` messages on `topic` and returns one frame's UTF-8 size (they differ by a digit at most). */
async function publish(bus: MemoryBus, topic: string, count: number): Promise<number> {
  let size = 0;
  for (let i = 0; i < count; i++) size = Buffer.byteLength((await bus.publish(topic, { p: payload })).frame);
  return size;
}

describe('TopicRelay ring bounded by bytes', () => {
  it('keeps only what fits in ringBytes, whatever ringSize allows, and answers beyond it from history or with reset', async () => {
    const frame = Buffer.byteLength((await (await setup({})).bus.publish('probe', { p: payload })).frame);
    const { bus, relay } = await setup({ ringSize: 1024, ringBytes: 10 * frame + Math.floor(frame / 2) });
    await relay.acquire('t');
    const size = await publish(bus, 't', 50);
    expect(relay.ringBytes).toBeLessThanOrEqual(10 * frame + frame / 2);
    expect(relay.ringBytes).toBeGreaterThanOrEqual(10 * size - 20);
    // 10 frames in the ring: 8 back is served (history alone holds only 5)
    const eight = await relay.catchUp('t', 42);
    expect(eight.kind).toBe('frames');
    expect(eight.kind === 'frames' && eight.frames.map((f) => JSON.parse(f).seq)).toEqual([43, 44, 45, 46, 47, 48, 49, 50]);
    // 12 back: beyond the ring's 10 and history's 5. With a ring bounded by count alone (1,024) this would be served.
    expect((await relay.catchUp('t', 38)).kind).toBe('reset');
    relay.release('t');
    expect(relay.ringBytes).toBe(0);
  });

  it('shares budgetBytes across topics: the topic that goes over gives up its own oldest frames', async () => {
    const frame = Buffer.byteLength((await (await setup({})).bus.publish('probe', { p: payload })).frame);
    const { bus, relay } = await setup({ ringSize: 1024, ringBytes: 1 << 20, budgetBytes: 15 * frame });
    await relay.acquire('a');
    await relay.acquire('b');
    await publish(bus, 'a', 10);
    await publish(bus, 'b', 10);
    expect(relay.ringBytes).toBeLessThanOrEqual(15 * frame);
    // a kept its 10; b only what was left of the budget (5), so 7 back on b is beyond ring and history
    const a = await relay.catchUp('a', 1);
    expect(a.kind === 'frames' && a.frames.length).toBe(9);
    expect((await relay.catchUp('b', 3)).kind).toBe('reset');
    const b = await relay.catchUp('b', 5);
    expect(b.kind === 'frames' && b.frames.map((f) => JSON.parse(f).seq)).toEqual([6, 7, 8, 9, 10]);
    // releasing a hands its bytes back: b's ring grows again
    relay.release('a');
    await publish(bus, 'b', 12);
    const later = await relay.catchUp('b', 22 - 12);
    expect(later.kind === 'frames' && later.frames.length).toBe(12);
    relay.release('b');
    expect(relay.ringBytes).toBe(0);
  });

  it('does not keep a frame larger than ringBytes, and serves it from history', async () => {
    const { bus, relay } = await setup({ ringSize: 1024, ringBytes: 1000 });
    await relay.acquire('big');
    await publish(bus, 'big', 3);
    await bus.publish('big', { p: 'y'.repeat(5000) });
    expect(relay.ringBytes).toBe(0);
    const caught = await relay.catchUp('big', 2);
    expect(caught.kind === 'frames' && caught.frames.map((f) => JSON.parse(f).seq)).toEqual([3, 4]);
    relay.release('big');
  });

  it('still wraps by count when frames are small', async () => {
    const { bus, relay } = await setup({ ringSize: 16 });
    await relay.acquire('t');
    const size = await publish(bus, 't', 100);
    expect(relay.ringBytes).toBeLessThanOrEqual(16 * size);
    const sixteen = await relay.catchUp('t', 84);
    expect(sixteen.kind === 'frames' && sixteen.frames.length).toBe(16);
    expect((await relay.catchUp('t', 80)).kind).toBe('reset');
    relay.release('t');
  });

  it('refuses bounds that are not integers', async () => {
    const bus = new MemoryBus({ log: silentBusLog });
    closers.push(() => bus.close());
    const app = await listeningApp();
    expect(() => new TopicRelay(bus, app, { delivered: () => {} }, { ringBytes: -1 })).toThrow(/ringBytes/);
    expect(() => new TopicRelay(bus, app, { delivered: () => {} }, { ringSize: 0 })).toThrow(/ringSize/);
  });
});
