import { describe, expect, it } from 'vitest';
import { Coalescer, type FlushOutcome } from '../../src/streams/polls/coalescer.ts';

interface Call {
  key: string;
  items: string[];
  final: boolean;
  at: number;
}

/** A coalescer whose flushes are recorded; `flushed(match)` resolves at the first recorded call matching. */
function recorder(intervalMs: number, answer: (call: Call, n: number) => FlushOutcome | Error = () => undefined) {
  const calls: Call[] = [];
  const errors: unknown[] = [];
  let waiters: { match: (c: Call) => boolean; resolve: (c: Call) => void }[] = [];
  const coalescer = new Coalescer<string>({
    intervalMs,
    retryMs: 5,
    onError: (e) => errors.push(e),
    flush: async (key, items, final) => {
      const call = { key, items: [...items].sort(), final, at: performance.now() };
      calls.push(call);
      waiters = waiters.filter((w) => (w.match(call) ? (w.resolve(call), false) : true));
      const outcome = answer(call, calls.length);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  });
  const flushed = (match: (c: Call) => boolean) =>
    new Promise<Call>((resolve) => {
      const seen = calls.find(match);
      if (seen) resolve(seen);
      else waiters.push({ match, resolve });
    });
  return { coalescer, calls, errors, flushed };
}

describe('Coalescer', () => {
  it('flushes the first touch at once, then gathers a burst into few flushes, the last one after the last touch', async () => {
    const { coalescer, calls, flushed } = recorder(40);
    coalescer.touch('p', 'first');
    await flushed((c) => c.items.includes('first'));
    for (let i = 0; i < 200; i++) coalescer.touch('p', `t${i}`);
    const last = await flushed((c) => c.items.includes('t199'));
    expect(calls.length).toBeLessThanOrEqual(3);
    // Everything touched was carried by some flush, once.
    expect(calls.flatMap((c) => c.items).sort()).toEqual(['first', ...Array.from({ length: 200 }, (_, i) => `t${i}`)].sort());
    expect(last.at - calls[0]!.at).toBeGreaterThanOrEqual(39);
    await coalescer.close();
  });

  it('keeps keys apart', async () => {
    const { coalescer, flushed } = recorder(40);
    coalescer.touch('a', 'x');
    coalescer.touch('b', 'y');
    expect((await flushed((c) => c.key === 'a')).items).toEqual(['x']);
    expect((await flushed((c) => c.key === 'b')).items).toEqual(['y']);
    await coalescer.close();
  });

  it('runs a deferred flush again after the time it asked for, with its items still owed', async () => {
    const { coalescer, calls, flushed } = recorder(10, (_c, n) => (n === 1 ? { retryInMs: 30 } : undefined));
    coalescer.touch('p', 'a');
    await flushed((c) => c.items.includes('a'));
    const second = await flushed((_c) => calls.length === 2);
    expect(second.items).toEqual(['a']);
    expect(second.at - calls[0]!.at).toBeGreaterThanOrEqual(29);
    await coalescer.close();
  });

  it('retries a failed flush and reports the error', async () => {
    const { coalescer, errors, flushed, calls } = recorder(10, (_c, n) => (n === 1 ? new Error('bus down') : undefined));
    coalescer.touch('p', 'a');
    await flushed(() => calls.length === 2);
    expect(calls[1]!.items).toEqual(['a']);
    expect(errors).toHaveLength(1);
    await coalescer.close();
  });

  it('on close, runs what is pending once more as final and waits for it', async () => {
    const { coalescer, calls, flushed } = recorder(10_000);
    coalescer.touch('p', 'a');
    await flushed((c) => c.items.includes('a'));
    coalescer.touch('p', 'b'); // due only after 10 s
    await coalescer.close();
    expect(calls.map((c) => [c.items, c.final])).toEqual([
      [['a'], false],
      [['b'], true],
    ]);
    coalescer.touch('p', 'c'); // after close: ignored
    expect(coalescer.pending).toBe(0);
  });
});
