import { describe, expect, it } from 'vitest';
import { type BusListener, type BusMessage, type History, msgFrame } from '../../src/bus/bus.ts';
import { silentBusLog } from '../../src/bus/bus-log.ts';
import { deliver } from '../../src/bus/listeners.ts';
import { KeySpace } from '../../src/bus/redis/keys.ts';
import { type FeedHost, TopicFeed } from '../../src/bus/redis/topic-feed.ts';
import { collect, range } from './bus-contract.ts';

const topic = 'event/x/alerts';
const keys = new KeySpace('test:').topic(topic);
const message = (seq: number): BusMessage => ({ topic, seq, ts: 1000 + seq, frame: msgFrame(topic, seq, 1000 + seq, String(seq)) });

/** A host whose history is `retained` (seqs `first..head`), with reads that can be held back or made to fail. */
function fakeHost(head: number, first = 1) {
  const state = { head, first, failures: 0, reads: [] as number[], filled: 0, retries: 0 };
  let gate: Promise<void> = Promise.resolve();
  let openGate = () => {};
  const host: FeedHost = {
    async history(_keys, since): Promise<History> {
      state.reads.push(since);
      // Redis answers with what it holds when the read arrives, not when the answer is handled.
      const { head, first } = state;
      const fail = state.failures > 0;
      if (fail) state.failures--;
      await gate;
      if (fail) throw new Error('redis down');
      if (since + 1 < first) return { kind: 'reset', head };
      return { kind: 'messages', head, messages: range(since + 1, head).map(message) };
    },
    deliver: (listeners: readonly BusListener[], m: BusMessage) => void deliver(listeners, m, silentBusLog),
    filled: () => void state.filled++,
    waitToRetry: async () => {
      state.retries++;
      return true;
    },
    log: silentBusLog,
  };
  return {
    host,
    state,
    /** History reads wait until `release()`. */
    hold() {
      gate = new Promise((resolve) => (openGate = resolve));
    },
    release: () => openGate(),
  };
}

function feedWith(host: FeedHost) {
  const feed = new TopicFeed(keys, host);
  const received = collect();
  feed.listeners = [received.listener];
  return { feed, received, seqs: () => received.messages.map((m) => m.seq) };
}

describe('TopicFeed', () => {
  it('delivers nothing before start, then only what follows the head', () => {
    const { host } = fakeHost(5);
    const { feed, seqs } = feedWith(host);
    feed.receive(message(5));
    feed.receive(message(6));
    expect(seqs()).toEqual([]);
    feed.start(5);
    feed.receive(message(7));
    expect(seqs()).toEqual([6, 7]);
  });

  it('drops duplicates', () => {
    const { host } = fakeHost(0);
    const { feed, seqs } = feedWith(host);
    feed.start(0);
    for (const seq of [1, 1, 2, 1, 3, 2]) feed.receive(message(seq));
    expect(seqs()).toEqual([1, 2, 3]);
  });

  it('fills a gap from history before delivering what arrived after it', async () => {
    const fake = fakeHost(2);
    const { feed, received, seqs } = feedWith(fake.host);
    feed.start(2);
    fake.state.head = 6;
    fake.hold();
    feed.receive(message(6)); // 3..5 were missed
    feed.receive(message(7)); // arrives while history is read
    fake.state.head = 7;
    expect(seqs()).toEqual([]);
    fake.release();
    await received.until(5);
    expect(seqs()).toEqual([3, 4, 5, 6, 7]);
    expect(fake.state.reads).toEqual([2]);
    expect(fake.state.filled).toBe(1);
    feed.receive(message(7));
    feed.receive(message(8));
    expect(seqs()).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('retries history until it can be read', async () => {
    const fake = fakeHost(4);
    const { feed, received, seqs } = feedWith(fake.host);
    feed.start(1);
    fake.state.failures = 2;
    feed.receive(message(4));
    await received.until(3);
    expect(seqs()).toEqual([2, 3, 4]);
    expect(fake.state.retries).toBe(2);
  });

  it('catches up after a reconnect even when nothing new arrives', async () => {
    const fake = fakeHost(3);
    const { feed, received, seqs } = feedWith(fake.host);
    feed.start(3);
    fake.state.head = 5;
    feed.catchUp();
    await received.until(2);
    expect(seqs()).toEqual([4, 5]);
  });

  it('reads history again when a reconnect happens while a gap is being filled', async () => {
    const fake = fakeHost(1);
    const { feed, received, seqs } = feedWith(fake.host);
    feed.start(1);
    fake.state.head = 3;
    fake.hold();
    feed.receive(message(3)); // reads history after 1: [2, 3]
    feed.catchUp(); // the connection dropped and came back while that read was in flight
    fake.state.head = 4; // published meanwhile: not in the first read, never seen live
    fake.release();
    await received.until(3);
    expect(seqs()).toEqual([2, 3, 4]);
    expect(fake.state.reads).toEqual([1, 3]);
  });

  it('a catch-up requested before start runs once the head is known', async () => {
    const fake = fakeHost(2);
    const { feed, received, seqs } = feedWith(fake.host);
    feed.catchUp();
    fake.state.head = 4;
    feed.start(2);
    await received.until(2);
    expect(seqs()).toEqual([3, 4]);
  });

  it('skips what is no longer retained and carries on with what arrived', async () => {
    const fake = fakeHost(50, 40);
    const { feed, received, seqs } = feedWith(fake.host);
    feed.start(5);
    feed.receive(message(51));
    feed.receive(message(52));
    await received.until(2);
    expect(seqs()).toEqual([51, 52]);
  });

  it('stops once closed', async () => {
    const fake = fakeHost(1);
    const { feed, seqs } = feedWith(fake.host);
    feed.start(0);
    fake.hold();
    feed.receive(message(2));
    feed.close();
    fake.release();
    await Promise.resolve();
    feed.receive(message(1));
    expect(seqs()).toEqual([]);
  });
});
