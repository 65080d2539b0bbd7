import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../src/lib/live/backoff.ts';
import { CommandError, LiveConnection, NotConnectedError, type ConnectionState, type LiveMessage, type TopicSink } from '../src/lib/live/live-connection.ts';
import { FakeBrowser } from './support/fake-socket.ts';

const T = 'event/expo/checkins';

class RecordingSink implements TopicSink {
  readonly batches: number[][] = [];
  readonly resets: number[] = [];
  readonly lives: number[] = [];
  readonly refusals: string[] = [];
  messages(batch: readonly LiveMessage[]): void {
    this.batches.push(batch.map((m) => m.seq));
  }
  live(head: number): void {
    this.lives.push(head);
  }
  reset(head: number): void {
    this.resets.push(head);
  }
  refused(code: string): void {
    this.refusals.push(code);
  }
  get seqs(): number[] {
    return this.batches.flat();
  }
}

function setup(options: { random?: () => number } = {}) {
  const browser = new FakeBrowser();
  const states: ConnectionState[] = [];
  const connection = new LiveConnection({
    url: () => 'ws://hub/ws?token=t',
    createSocket: browser.createSocket,
    frameHost: browser.frameHost,
    random: options.random ?? (() => 0.5),
    onState: (s) => states.push(s),
  });
  return { browser, connection, states };
}

/**
 * The start most tests share: a connection following T live, opened, and confirmed by the hub at `head`.
 * @example const { browser, sink } = confirmedLive({ seq: 4, epoch: 'a' });
 */
function confirmedLive(head: { seq: number; epoch?: string }) {
  const started = setup();
  const sink = new RecordingSink();
  const sub = started.connection.subscribe(T, sink, 'live');
  started.connection.start();
  started.browser.socket.open();
  started.browser.socket.frame({ op: 'ok', id: started.browser.socket.lastSub().id, result: { topic: T, ...head } });
  return { ...started, sink, sub };
}

/** The socket drops with `code`; under fake timers, the first retry (its backoff is under a second) opens the next. */
function dropAndReconnect(browser: FakeBrowser, code: number, reason?: string): void {
  browser.socket.drop(code, reason);
  vi.advanceTimersByTime(1000);
  browser.socket.open();
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LiveConnection', () => {
  it('subscribes on open, confirms, and hands messages over in one batch per animation frame', () => {
    const { browser, connection, states } = setup();
    const sink = new RecordingSink();
    connection.subscribe(T, sink, 'live');
    connection.start();
    browser.socket.open();
    expect(states.at(-1)).toEqual({ kind: 'live' });
    const sub = browser.socket.lastSub();
    expect(sub).toMatchObject({ op: 'sub', topic: T });
    expect(sub.since).toBeUndefined();
    browser.socket.frame({ op: 'ok', id: sub.id, result: { topic: T, seq: 10 } });
    expect(sink.lives).toEqual([10]);
    for (const seq of [11, 12, 13]) browser.socket.msg(T, seq);
    expect(sink.batches).toEqual([]);
    browser.animationFrame();
    expect(sink.batches).toEqual([[11, 12, 13]]);
    connection.close();
  });

  it('drops repeated seqs and closes a gap by asking the hub to replay it', () => {
    const { browser, connection, sink } = confirmedLive({ seq: 0 });
    browser.socket.msg(T, 1);
    browser.socket.msg(T, 2);
    browser.socket.msg(T, 2);
    browser.socket.msg(T, 5); // 3 and 4 never came
    const replay = browser.socket.lastSub();
    expect(replay.since).toBe(2);
    browser.socket.msg(T, 6); // still in the gap: dropped, and no second replay request
    expect(browser.socket.subs()).toHaveLength(2);
    for (const seq of [3, 4, 5, 6]) browser.socket.msg(T, seq);
    browser.socket.frame({ op: 'ok', id: replay.id, result: { topic: T, seq: 6 } });
    browser.socket.msg(T, 7);
    browser.animationFrame();
    expect(sink.seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    connection.close();
  });

  it('after a drop, shows reconnecting, reconnects with backoff and resumes with since: nothing missed, nothing twice', () => {
    vi.useFakeTimers();
    const { browser, connection, states } = setup();
    const sink = new RecordingSink();
    connection.subscribe(T, sink, 'live');
    connection.start();
    const first = browser.socket;
    first.open();
    first.frame({ op: 'ok', id: first.lastSub().id, result: { topic: T, seq: 3 } });
    first.msg(T, 4);
    first.msg(T, 5);
    first.drop(1006);
    expect(states.at(-1)).toMatchObject({ kind: 'reconnecting', attempt: 1 });
    // The first retry waits between half and all of the base step.
    vi.advanceTimersByTime(backoffDelay(1, undefined, () => 0.5));
    const second = browser.socket;
    expect(second).not.toBe(first);
    second.open();
    const resume = second.lastSub();
    expect(resume.since).toBe(5);
    // The hub replays what came after 5; a live frame racing the replay is dropped by seq.
    for (const seq of [6, 7]) second.msg(T, seq);
    second.msg(T, 7);
    second.frame({ op: 'ok', id: resume.id, result: { topic: T, seq: 7 } });
    second.msg(T, 8);
    vi.advanceTimersByTime(300); // the fallback timer stands in for animation frames here
    expect(sink.seqs).toEqual([4, 5, 6, 7, 8]);
    expect(states.at(-1)).toEqual({ kind: 'live' });
    connection.close();
  });

  it('backs off exponentially with jitter, capped', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, { baseMs: 250, maxMs: 15_000 }, () => 0.5));
    expect(delays).toEqual([188, 375, 750, 1500, 3000, 6000, 11_250, 11_250, 11_250]);
    for (let attempt = 1; attempt < 12; attempt++) {
      const step = Math.min(15_000, 250 * 2 ** (attempt - 1));
      expect(backoffDelay(attempt, undefined, () => 0)).toBe(Math.round(step / 2));
      expect(backoffDelay(attempt, undefined, () => 0.999_999)).toBeLessThanOrEqual(step);
    }
  });

  it('delivers what was queued before a reset, then reports the reset and continues after its head', () => {
    const { browser, connection, sink } = confirmedLive({ seq: 0 });
    browser.socket.msg(T, 1);
    browser.socket.frame({ op: 'reset', topic: T, seq: 900 });
    expect(sink.seqs).toEqual([1]);
    expect(sink.resets).toEqual([900]);
    browser.socket.msg(T, 901);
    browser.animationFrame();
    expect(sink.seqs).toEqual([1, 901]);
    connection.close();
  });

  it('a fresh { last: n } subscription replays the last n messages, then goes live', () => {
    const { browser, connection } = setup();
    const sink = new RecordingSink();
    connection.subscribe(T, sink, { last: 2 });
    connection.start();
    browser.socket.open();
    const first = browser.socket.lastSub();
    browser.socket.frame({ op: 'ok', id: first.id, result: { topic: T, seq: 10 } });
    const replay = browser.socket.lastSub();
    expect(replay.since).toBe(8);
    browser.socket.msg(T, 9);
    browser.socket.msg(T, 10);
    browser.socket.frame({ op: 'ok', id: replay.id, result: { topic: T, seq: 10 } });
    browser.animationFrame();
    expect(sink.seqs).toEqual([9, 10]);
    expect(sink.lives).toEqual([10]);
    connection.close();
  });

  it('starts a history subscription at since 0', () => {
    const { browser, connection } = setup();
    connection.subscribe(T, new RecordingSink(), 'history');
    connection.start();
    browser.socket.open();
    expect(browser.socket.lastSub().since).toBe(0);
    connection.close();
  });

  it('after the hub restarted (1012) it resumes and also reports a reset, since seqs may have restarted', () => {
    vi.useFakeTimers();
    const { browser, connection, sink } = confirmedLive({ seq: 0 });
    browser.socket.msg(T, 1);
    dropAndReconnect(browser, 1012, 'hub shutting down');
    const resume = browser.socket.lastSub();
    expect(resume.since).toBe(1);
    browser.socket.msg(T, 2);
    browser.socket.frame({ op: 'ok', id: resume.id, result: { topic: T, seq: 2 } });
    expect(sink.resets).toEqual([2]);
    connection.close();
  });

  it('treats a changed epoch in the confirmation as a reset', () => {
    vi.useFakeTimers();
    const { browser, connection, sink } = confirmedLive({ seq: 4, epoch: 'a' });
    dropAndReconnect(browser, 1006);
    browser.socket.frame({ op: 'ok', id: browser.socket.lastSub().id, result: { topic: T, seq: 2, epoch: 'b' } });
    expect(sink.resets).toEqual([2]);
    connection.close();
  });

  it('resumes with the epoch it was confirmed in; the same epoch after a restart (1012) replays, no reset', () => {
    vi.useFakeTimers();
    const { browser, connection, sink, sub } = confirmedLive({ seq: 4, epoch: 'a' });
    expect(sub.epoch).toBe('a');
    browser.socket.msg(T, 5);
    // A hub on a shared bus restarted: its history (and epoch) survived, so the hub's replay is exact.
    dropAndReconnect(browser, 1012, 'hub shutting down');
    const resume = browser.socket.lastSub();
    expect(resume).toMatchObject({ since: 5, epoch: 'a' });
    browser.socket.msg(T, 6);
    browser.socket.frame({ op: 'ok', id: resume.id, result: { topic: T, seq: 6, epoch: 'a' } });
    vi.advanceTimersByTime(300);
    expect(sink.seqs).toEqual([5, 6]);
    expect(sink.resets).toEqual([]);
    expect(sink.lives).toEqual([4, 6]);
    // A gap is closed under the same epoch.
    browser.socket.msg(T, 9);
    expect(browser.socket.lastSub()).toMatchObject({ since: 6, epoch: 'a' });
    connection.close();
  });

  it('after a reset for a new epoch, a sink that replays from 0 goes live in that epoch, not reset again', () => {
    vi.useFakeTimers();
    const { browser, connection } = setup();
    // What the check-ins model does: on reset, replay the retained history from 0.
    let sub: ReturnType<LiveConnection['subscribe']> | undefined;
    const sink = new (class extends RecordingSink {
      override reset(head: number): void {
        super.reset(head);
        if (this.resets.length === 1) sub?.resume(0);
      }
    })();
    sub = connection.subscribe(T, sink, 'history');
    connection.start();
    browser.socket.open();
    browser.socket.frame({ op: 'ok', id: browser.socket.lastSub().id, result: { topic: T, seq: 21, epoch: 'a' } });
    dropAndReconnect(browser, 1012, 'hub shutting down');
    const resume = browser.socket.lastSub();
    expect(resume).toMatchObject({ since: 21, epoch: 'a' });
    // The restarted hub (epoch b, seqs from 1) answers reset, then confirms the superseded sub; the replay follows.
    browser.socket.frame({ op: 'reset', topic: T, seq: 1 });
    const replay = browser.socket.lastSub();
    expect(replay.since).toBe(0);
    expect(replay.epoch).toBeUndefined();
    browser.socket.frame({ op: 'ok', id: resume.id, result: { topic: T, seq: 1, epoch: 'b' } });
    browser.socket.msg(T, 1);
    browser.socket.msg(T, 2);
    browser.socket.frame({ op: 'ok', id: replay.id, result: { topic: T, seq: 2, epoch: 'b' } });
    vi.advanceTimersByTime(300);
    expect(sink.resets).toEqual([1]);
    expect(sink.lives).toEqual([21, 2]);
    expect(sink.seqs).toEqual([1, 2]);
    expect(sub.epoch).toBe('b');
    browser.socket.msg(T, 3);
    vi.advanceTimersByTime(300);
    expect(sink.seqs).toEqual([1, 2, 3]);
    connection.close();
  });

  it('resumes from a snapshot with the snapshot\'s epoch', () => {
    const { browser, connection, sub } = confirmedLive({ seq: 10, epoch: 'a' });
    sub.resume(7, 'a');
    expect(browser.socket.lastSub()).toMatchObject({ since: 7, epoch: 'a' });
    connection.close();
  });

  it('answers commands, maps err to CommandError, and fails fast when not connected or dropped', async () => {
    const { browser, connection } = setup();
    await expect(connection.command('announce.send', {})).rejects.toBeInstanceOf(NotConnectedError);
    connection.start();
    browser.socket.open();
    const ok = connection.command('announce.send', { event: 'expo' });
    const okFrame = browser.socket.sent.at(-1)!;
    expect(okFrame).toMatchObject({ op: 'cmd', name: 'announce.send', args: { event: 'expo' } });
    browser.socket.frame({ op: 'ok', id: okFrame.id, result: { id: 'a1', seq: 1 } });
    await expect(ok).resolves.toEqual({ id: 'a1', seq: 1 });
    const refused = connection.command('alert.ack', { event: 'expo', id: 'x' });
    browser.socket.frame({ op: 'err', id: browser.socket.sent.at(-1)!.id, code: 'forbidden', message: 'no' });
    await expect(refused).rejects.toMatchObject({ name: 'CommandError', code: 'forbidden' });
    await expect(refused).rejects.toBeInstanceOf(CommandError);
    const lost = connection.command('announce.send', {});
    browser.socket.drop(1006);
    await expect(lost).rejects.toBeInstanceOf(NotConnectedError);
    connection.close();
  });

  it('stops for good when the hub refuses the token (4401), and reports a refused subscription', () => {
    const { browser, connection, states } = setup();
    const sink = new RecordingSink();
    connection.subscribe(T, sink, 'live');
    connection.start();
    browser.socket.open();
    browser.socket.frame({ op: 'err', id: browser.socket.lastSub().id, code: 'forbidden', message: 'no' });
    expect(sink.refusals).toEqual(['forbidden']);
    browser.socket.drop(4401, 'token expired');
    expect(states.at(-1)).toMatchObject({ kind: 'stopped' });
    expect(browser.sockets).toHaveLength(1);
  });

  it('ignores frames outside the protocol and messages for topics it does not follow', () => {
    const { browser, connection, sink } = confirmedLive({ seq: 0 });
    browser.socket.onmessage?.({ data: 'not json' });
    browser.socket.frame({ op: 'msg', topic: T, seq: -1, ts: 0, data: {} });
    browser.socket.msg('event/expo/other', 1);
    browser.socket.msg(T, 1);
    browser.animationFrame();
    expect(sink.seqs).toEqual([1]);
    connection.close();
  });
});
