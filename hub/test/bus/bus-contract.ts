import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bus, type BusMessage, BusUnavailableError, type Retention, defaultRetention, msgFrame } from '../../src/bus/bus.ts';

/** What a contract run asks of an implementation. */
export interface BusFactoryInput {
  /**
   * Buses created with the same namespace are nodes on one backend (for Redis: one key prefix, as two hub
   * processes would be); a fresh namespace is an empty backend.
   */
  readonly namespace: string;
  readonly retention: Retention;
}

export interface BusContractOptions {
  /** True when nodes on one backend are separate processes that signals travel between. */
  readonly crossNodeSignals: boolean;
}

/**
 * The behaviour every Bus implementation must show (see the guarantees on `Bus` in bus.ts). The suite starts what
 * `createBus` returns and closes it after each test, so `start` and `close` must be idempotent.
 *
 * @example busContract('MemoryBus', ({ retention }) => new MemoryBus({ retention }), { crossNodeSignals: false });
 */
export function busContract(name: string, createBus: (input: BusFactoryInput) => Bus | Promise<Bus>, options: BusContractOptions): void {
  describe(`Bus contract: ${name}`, () => {
    const opened: Bus[] = [];

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((bus) => bus.close()));
    });

    /** A backend of its own for one test; `node()` opens (another) node on it. */
    function backend(retention: Retention = defaultRetention) {
      const namespace = randomUUID();
      return {
        async node(): Promise<Bus> {
          const bus = await createBus({ namespace, retention });
          opened.push(bus);
          await bus.start();
          return bus;
        },
      };
    }

    const topic = (label = 'alerts') => `event/${randomUUID().slice(0, 8)}/${label}`;

    it('names an epoch after start, shared by every node on one backend and new for a new backend', async () => {
      const shared = backend();
      const [a, b] = [await shared.node(), await shared.node()];
      expect(a.epoch()).toMatch(/.+/);
      expect(b.epoch()).toBe(a.epoch());
      expect((await backend().node()).epoch()).not.toBe(a.epoch());
    });

    it('numbers each topic from 1, gap-free, and reports the head', async () => {
      const bus = await backend().node();
      const t = topic();
      expect(await bus.head(t)).toBe(0);
      const seqs: number[] = [];
      for (let i = 0; i < 5; i++) seqs.push((await bus.publish(t, { i })).seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5]);
      expect(await bus.head(t)).toBe(5);
      expect((await bus.publish(topic(), 'other topic')).seq).toBe(1);
    });

    it('builds the client frame once, with the data exactly as published', async () => {
      const bus = await backend().node();
      const t = topic('chat/zürich "quoted" room');
      const data = {
        text: 'Grüße, "quoted", back\\slash, new\nline, tab\t, emoji 🎉, family 👩‍👩‍👧, CJK 会议, RTL مرحبا',
        nested: { list: [1, 2.5, -3e-7, { deep: [null, true, false, ''] }], empty: {}, none: [] },
        separator: '\u2028\u2029',
        control: '\u0000\u001f',
      };
      const received = collect();
      await bus.subscribe(t, received.listener);
      const published = await bus.publish(t, data);
      await received.until(1);
      const [live] = received.messages;
      const history = await bus.history(t, 0);
      expect(history.kind).toBe('messages');
      const stored = history.kind === 'messages' ? history.messages[0] : undefined;

      for (const message of [published, live!, stored!]) {
        expect(JSON.parse(message.frame)).toEqual({ op: 'msg', topic: t, seq: 1, ts: published.ts, data });
        expect(message.frame).toBe(msgFrame(t, 1, published.ts, JSON.stringify(data)));
        expect(message).toMatchObject({ topic: t, seq: 1, ts: published.ts });
      }
      expect(Math.abs(published.ts - Date.now())).toBeLessThan(60_000);
      expect(JSON.parse((await bus.publish(t, 'a string')).frame).data).toBe('a string');
      expect(JSON.parse((await bus.publish(t, null)).frame).data).toBe(null);
    });

    it('rejects data JSON cannot carry, without using up a seq', async () => {
      const bus = await backend().node();
      const t = topic();
      await expect(bus.publish(t, undefined)).rejects.toBeInstanceOf(TypeError);
      await expect(bus.publish(t, () => 1)).rejects.toBeInstanceOf(TypeError);
      await expect(bus.publish(t, { big: 1n })).rejects.toBeInstanceOf(TypeError);
      expect((await bus.publish(t, { ok: true })).seq).toBe(1);
    });

    it('gives every listener on every node the union of concurrent publishes once, in seq order', async () => {
      const shared = backend();
      const a = await shared.node();
      const b = await shared.node();
      const t = topic();
      const listeners = [collect(), collect(), collect()];
      await a.subscribe(t, listeners[0]!.listener);
      await a.subscribe(t, listeners[1]!.listener);
      await b.subscribe(t, listeners[2]!.listener);

      const perNode = 60;
      const publishes = await Promise.all(
        Array.from({ length: perNode }, (_, i) => [a.publish(t, { from: 'a', i }), b.publish(t, { from: 'b', i })]).flat(),
      );
      const total = perNode * 2;
      expect(publishes.map((m) => m.seq).sort((x, y) => x - y)).toEqual(range(1, total));

      // A marker published after everything else: once it arrived, any duplicate would have arrived before it.
      const marker = await a.publish(t, { marker: true });
      const bySeq = new Map(publishes.map((m) => [m.seq, m.frame]));
      bySeq.set(marker.seq, marker.frame);
      for (const received of listeners) {
        await received.until(total + 1);
        expect(received.messages.map((m) => m.seq)).toEqual(range(1, total + 1));
        for (const m of received.messages) expect(m.frame).toBe(bySeq.get(m.seq));
      }
      const origins = listeners[2]!.messages.slice(0, total).map((m) => JSON.parse(m.frame).data as { from: string; i: number });
      expect(new Set(origins.map((d) => `${d.from}${d.i}`)).size).toBe(total);
    });

    it('delivers only what is published after subscribe resolves; history serves the rest', async () => {
      const shared = backend();
      const a = await shared.node();
      const b = await shared.node();
      const t = topic();
      await b.publish(t, 'before 1');
      await b.publish(t, 'before 2');
      const received = collect();
      await a.subscribe(t, received.listener);
      await b.publish(t, 'after');
      await received.until(1);
      expect(received.messages.map((m) => m.seq)).toEqual([3]);
      const history = await a.history(t, 0);
      expect(history.kind === 'messages' && history.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    });

    it('keeps order when a listener publishes to the topic it listens to', async () => {
      const bus = await backend().node();
      const t = topic();
      const seen: number[] = [];
      let echoed: Promise<BusMessage> | undefined;
      await bus.subscribe(t, (m) => {
        if (m.seq === 1) echoed = bus.publish(t, 'echo');
      });
      const received = collect();
      await bus.subscribe(t, received.listener);
      await bus.subscribe(t, (m) => seen.push(m.seq));
      await bus.publish(t, 'first');
      await received.until(2);
      expect((await echoed)?.seq).toBe(2);
      expect(received.messages.map((m) => m.seq)).toEqual([1, 2]);
      expect(seen).toEqual([1, 2]);
    });

    it('answers history after `since` with exactly the later messages, or reset past the head', async () => {
      const bus = await backend().node();
      const t = topic();
      const published: BusMessage[] = [];
      for (let i = 1; i <= 6; i++) published.push(await bus.publish(t, { i }));

      const after2 = await bus.history(t, 2);
      expect(after2).toEqual({ kind: 'messages', head: 6, messages: published.slice(2) });
      expect(await bus.history(t, 0)).toEqual({ kind: 'messages', head: 6, messages: published });
      expect(await bus.history(t, 6)).toEqual({ kind: 'messages', head: 6, messages: [] });
      expect(await bus.history(t, 7)).toEqual({ kind: 'reset', head: 6 });
      expect(await bus.history(topic(), 0)).toEqual({ kind: 'messages', head: 0, messages: [] });
      expect(await bus.history(topic(), 3)).toEqual({ kind: 'reset', head: 0 });
      await expect(bus.history(t, -1)).rejects.toBeInstanceOf(RangeError);
      await expect(bus.history(t, 1.5)).rejects.toBeInstanceOf(RangeError);
    });

    it('trims history to `messages` once entries are older than `ms`, and answers reset for the lost gap', async () => {
      const bus = await backend({ messages: 3, ms: 0, maxMessages: 100, maxBytes: 1 << 20 }).node();
      const t = topic();
      for (let i = 1; i <= 10; i++) await bus.publish(t, { i });
      expect(await bus.history(t, 0)).toEqual({ kind: 'reset', head: 10 });
      expect(await bus.history(t, 6)).toEqual({ kind: 'reset', head: 10 });
      const kept = await bus.history(t, 7);
      expect(kept.kind === 'messages' && kept.messages.map((m) => m.seq)).toEqual([8, 9, 10]);
      const data = kept.kind === 'messages' ? kept.messages.map((m) => JSON.parse(m.frame).data.i) : [];
      expect(data).toEqual([8, 9, 10]);
    });

    it('keeps young messages beyond `messages`, but never more than `maxMessages`', async () => {
      const bus = await backend({ messages: 2, ms: 60 * 60_000, maxMessages: 5, maxBytes: 1 << 20 }).node();
      const t = topic();
      for (let i = 1; i <= 4; i++) await bus.publish(t, { i });
      const young = await bus.history(t, 0);
      expect(young.kind === 'messages' && young.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      for (let i = 5; i <= 7; i++) await bus.publish(t, { i });
      const capped = await bus.history(t, 2);
      expect(capped.kind === 'messages' && capped.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
      expect(await bus.history(t, 1)).toEqual({ kind: 'reset', head: 7 });
    });

    it('keeps history within `maxBytes`: a since older than what fits gets reset, one within it a gap-free replay', async () => {
      // Frames of about 1 KiB against a 10 KiB cap: young and few, so only the byte cap can trim them.
      const bus = await backend({ messages: 1000, ms: 60 * 60_000, maxMessages: 1000, maxBytes: 10 * 1024 }).node();
      const t = topic();
      const pad = 'x'.repeat(1000);
      const frames: string[] = [];
      for (let i = 1; i <= 40; i++) frames.push((await bus.publish(t, { i, pad })).frame);
      // The newest frames that fit in the cap, counted in UTF-8 bytes as they go out.
      let kept = 0;
      for (let bytes = 0; kept < frames.length && bytes + Buffer.byteLength(frames.at(-1 - kept)!) <= 10 * 1024; kept++) {
        bytes += Buffer.byteLength(frames.at(-1 - kept)!);
      }
      expect(kept).toBeGreaterThan(5);
      const oldestKept = 40 - kept + 1;
      expect(await bus.history(t, 0)).toEqual({ kind: 'reset', head: 40 });
      expect(await bus.history(t, oldestKept - 2)).toEqual({ kind: 'reset', head: 40 });
      const replay = await bus.history(t, oldestKept - 1);
      expect(replay.kind === 'messages' && replay.messages.map((m) => m.seq)).toEqual(range(oldestKept, 40));
      expect(replay.kind === 'messages' && replay.messages.map((m) => m.frame)).toEqual(frames.slice(oldestKept - 1));
      // A frame larger than the cap cannot be replayed at all: resuming from just before it is a reset too.
      await bus.publish(t, { big: 'y'.repeat(20 * 1024) });
      expect(await bus.history(t, 40)).toEqual({ kind: 'reset', head: 41 });
      expect(await bus.history(t, 41)).toEqual({ kind: 'messages', head: 41, messages: [] });
      await bus.publish(t, { i: 42 });
      const after = await bus.history(t, 41);
      expect(after.kind === 'messages' && after.messages.map((m) => m.seq)).toEqual([42]);
    });

    it('keeps listeners of different topics apart', async () => {
      const bus = await backend().node();
      const [t1, t2] = [topic('one'), topic('two')];
      const one = collect();
      const two = collect();
      await bus.subscribe(t1, one.listener);
      await bus.subscribe(t2, two.listener);
      // t2 first: when t1's message has arrived, a misrouted t2 message would already have arrived too.
      await bus.publish(t2, 'for two');
      await bus.publish(t1, 'for one');
      await one.until(1);
      await two.until(1);
      expect(one.messages.map((m) => m.topic)).toEqual([t1]);
      expect(two.messages.map((m) => m.topic)).toEqual([t2]);
    });

    it('stops delivering to an unsubscribed listener, and a later subscribe starts fresh', async () => {
      const shared = backend();
      const bus = await shared.node();
      const other = await shared.node();
      const t = topic();
      const leaving = collect();
      const staying = collect();
      await bus.subscribe(t, leaving.listener);
      await bus.subscribe(t, staying.listener);
      await other.publish(t, 1);
      await leaving.until(1);
      await bus.unsubscribe(t, leaving.listener);
      await other.publish(t, 2);
      await staying.until(2);
      expect(leaving.messages.map((m) => m.seq)).toEqual([1]);

      await bus.unsubscribe(t, staying.listener);
      await other.publish(t, 3);
      const again = collect();
      await bus.subscribe(t, again.listener);
      await other.publish(t, 4);
      await again.until(1);
      expect(again.messages.map((m) => m.seq)).toEqual([4]);
      expect(staying.messages.map((m) => m.seq)).toEqual([1, 2]);
      await bus.unsubscribe(t, again.listener);
      await bus.unsubscribe(t, again.listener); // twice is harmless
    });

    it('isolates a throwing listener from publish and from the other listeners', async () => {
      const bus = await backend().node();
      const t = topic();
      let thrown = 0;
      await bus.subscribe(t, () => {
        thrown++;
        throw new Error('listener bug (expected by the test)');
      });
      const received = collect();
      await bus.subscribe(t, received.listener);
      for (let i = 1; i <= 3; i++) await expect(bus.publish(t, { i })).resolves.toMatchObject({ seq: i });
      await received.until(3);
      expect(received.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
      expect(thrown).toBe(3);
    });

    it('counts published and delivered messages', async () => {
      const bus = await backend().node();
      const t = topic();
      const before = bus.stats();
      const received = collect();
      await bus.subscribe(t, received.listener);
      await bus.publish(t, 1);
      await bus.publish(t, 2);
      await received.until(2);
      const after = bus.stats();
      expect(after.published - before.published).toBe(2);
      expect(after.delivered - before.delivered).toBe(2);
      expect(after.lagMs).toBeGreaterThanOrEqual(-1000);
    });

    if (options.crossNodeSignals) {
      it('carries signals to the other nodes and not back to the sender', async () => {
        const shared = backend();
        const a = await shared.node();
        const b = await shared.node();
        const channel = `yjs/${randomUUID()}`;
        const atA = collectSignals();
        const atB = collectSignals();
        await a.onSignal(channel, atA.listener);
        await b.onSignal(channel, atB.listener);

        await a.signal(channel, new Uint8Array([1, 2, 3, 0, 255]));
        await atB.until(1);
        expect(atB.received).toEqual([{ payload: [1, 2, 3, 0, 255], from: a.nodeId }]);
        // b's reply reaches a after a's own signal would have: a signal of its own would come first.
        await b.signal(channel, new Uint8Array([9]));
        await atA.until(1);
        expect(atA.received).toEqual([{ payload: [9], from: b.nodeId }]);

        // offSignal: b stops hearing `channel`; a later signal on a second channel proves the first one passed.
        const second = `${channel}/2`;
        const onSecond = collectSignals();
        await b.onSignal(second, onSecond.listener);
        await b.offSignal(channel, atB.listener);
        await a.signal(channel, new Uint8Array([7]));
        await a.signal(second, new Uint8Array([]));
        await onSecond.until(1);
        expect(onSecond.received).toEqual([{ payload: [], from: a.nodeId }]);
        expect(atB.received).toHaveLength(1);
      });
    } else {
      it('accepts signals that no other node exists to receive, and never echoes them', async () => {
        const bus = await backend().node();
        const own = collectSignals();
        await bus.onSignal('yjs/doc', own.listener);
        await expect(bus.signal('yjs/doc', new Uint8Array([1]))).resolves.toBeUndefined();
        await bus.offSignal('yjs/doc', own.listener);
        expect(own.received).toEqual([]);
      });
    }

    it('is healthy while started, and refuses work once closed', async () => {
      const bus = await backend().node();
      expect(bus.isHealthy()).toBe(true);
      expect(typeof bus.nodeId).toBe('string');
      await bus.start(); // idempotent
      await bus.close();
      await bus.close(); // idempotent
      expect(bus.isHealthy()).toBe(false);
      await expect(bus.publish(topic(), 1)).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.signal('c', new Uint8Array([1]))).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.subscribe(topic(), () => {})).rejects.toBeInstanceOf(BusUnavailableError);
    });
  });
}

/** Records what a listener receives; `until(n)` resolves once `n` messages are in. */
export function collect() {
  const messages: BusMessage[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    messages,
    listener: (message: BusMessage) => {
      messages.push(message);
      for (const w of waiters.splice(0)) (messages.length >= w.count ? w.resolve() : waiters.push(w));
    },
    until(count: number): Promise<void> {
      if (messages.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/** Like {@link collect}, for signals; payloads are copied to plain arrays for comparison. */
export function collectSignals() {
  const received: { payload: number[]; from: string }[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    received,
    listener: (payload: Uint8Array, from: string) => {
      received.push({ payload: [...payload], from });
      for (const w of waiters.splice(0)) (received.length >= w.count ? w.resolve() : waiters.push(w));
    },
    until(count: number): Promise<void> {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
