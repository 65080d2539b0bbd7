import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientFrame, CloseCode, wsLimits } from '@opshub/schema';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** mulberry32: a seeded generator so a failing run can be replayed with the printed seed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Topics a staff token may read, real topics it may not, and strings that are no topic at all (hand-listed: the
// fuzz must not trust the code it tests).
const allowed = ['event/expo/announcements', 'event/expo/alerts', 'event/expo/checkins', 'event/expo/chat/lobby/mod'];
const forbidden = ['event/other/alerts', 'event/expo/leads/acme'];
const invalid = ['event/expo/nope', 'event', '', 'event/expo/qa/s/mod/x'];
const refused = [...forbidden, ...invalid];

function fuzzFrame(r: () => number): string | Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const str = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(r() * 0xd7ff))).join('');
  const anyValue = (depth = 0): unknown =>
    pick([
      () => null,
      () => r() > 0.5,
      () => pick([0, -1, 1e308, -1e308, 2 ** 53, 2 ** 64, 1.5, Number.MAX_SAFE_INTEGER + 2]),
      () => str(Math.floor(r() * 40)),
      () => (depth > 3 ? 1 : Array.from({ length: Math.floor(r() * 4) }, () => anyValue(depth + 1))),
      () => (depth > 3 ? {} : Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [pick(['op', 'topic', 'id', '__proto__', 'constructor', str(5)]), anyValue(depth + 1)]))),
    ])();
  const kind = r();
  if (kind < 0.08) return Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
  if (kind < 0.16) return str(Math.floor(r() * 200));
  if (kind < 0.22) return '['.repeat(5000) + ']'.repeat(5000);
  if (kind < 0.3) return JSON.stringify(anyValue());
  const id = pick([undefined, 'x', 7, -1, '', 'y'.repeat(80), 1e300]);
  const frame = pick([
    () => ({ op: 'ping' }),
    () => ({ op: pick(['sub', 'unsub']), topic: pick([...allowed, ...refused]), ...(id !== undefined && { id }) }),
    () => ({ op: 'sub', topic: pick(allowed), since: pick([0, 5, 10 ** 9, -3, 'x', 1.5]), ...(id !== undefined && { id }) }),
    () => ({ op: 'cmd', id: id ?? 'c', name: pick(['announce.send', 'poll.vote', '', 'x'.repeat(70)]), args: pick([{ event: 'expo', text: str(20), level: pick(['info', 'warning', 'loud']) }, { event: 'other', text: 'x', level: 'info' }, anyValue(), []]) }),
    () => ({ op: pick(['ping', 'sub', 'cmd', 'PING', 'msg', 'ok']), [pick(['topic', 'since', 'args', 'extra'])]: anyValue() }),
  ])();
  return JSON.stringify(frame);
}

/**
 * How many replies (ok, err or pong) a frame must get. Without an id, a sub that succeeds and an unsub of any real
 * topic (subscribed or not: unsub is idempotent) are silent; everything else is answered once.
 */
function expectedReplies(raw: string | Buffer): number {
  if (typeof raw !== 'string') return 1;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return 1;
  }
  const parsed = ClientFrame.safeParse(json);
  if (!parsed.success) return 1;
  const frame = parsed.data;
  if (frame.op === 'sub' && frame.id === undefined) return allowed.includes(frame.topic) ? 0 : 1;
  if (frame.op === 'unsub' && frame.id === undefined) return invalid.includes(frame.topic) ? 1 : 0;
  return 1;
}

const isReply = (f: Frame) => f.op === 'ok' || f.op === 'err' || f.op === 'pong';

let t: TestHub;
beforeAll(async () => {
  // Rate limiting has its own test; here every frame must reach the parser.
  t = await startTestHub({ wsLimits: { framesPerSecond: 1e6, burst: 1e6 } });
  await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify(expoEvent) });
});
afterAll(() => t?.close());

describe('fuzzing /ws', () => {
  it('answers every one of thousands of random and malformed frames, stays up and keeps memory bounded', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
    const r = rng(seed);
    const token = await t.token({ role: 'staff' });
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let round = 0; round < 4; round++) {
      const clients = await Promise.all([0, 1, 2, 3].map(() => TestClient.connect(t.wsUrl, token)));
      await Promise.all(
        clients.map(async (client) => {
          let expected = 0;
          for (let i = 0; i < 1000; i++) {
            const raw = fuzzFrame(r);
            expected += expectedReplies(raw);
            client.socket.send(raw);
          }
          const deadline = Date.now() + 20_000;
          while (client.frames.filter(isReply).length < expected && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
          expect(client.frames.filter(isReply).length, `seed ${seed}`).toBe(expected);
          for (const frame of client.frames) expect(['ok', 'err', 'pong', 'msg', 'reset']).toContain(frame.op);
        }),
      );
      await Promise.all(clients.map((c) => c.close()));
    }
    gc();
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    expect(grownMb, `heap grew ${grownMb.toFixed(1)} MB`).toBeLessThan(64);

    // Still up and still correct for a well-behaved client.
    const probe = await TestClient.connect(t.wsUrl, token);
    expect(await probe.subscribe('event/expo/announcements')).toMatchObject({ op: 'ok' });
    expect(await probe.command('announce.send', { event: 'expo', text: 'still here', level: 'info' })).toMatchObject({ op: 'ok' });
    await probe.next((f) => f.op === 'msg' && (f.data as { text: string }).text === 'still here');
    await probe.close();
  }, 120_000);

  it('closes with 1009 on oversized frames of any content, and nothing else is affected', async () => {
    const token = await t.token({ role: 'staff' });
    const bystander = await TestClient.connect(t.wsUrl, token);
    const sizes = [wsLimits.maxFrameBytes + 1, wsLimits.maxFrameBytes * 4, 4 * 1024 * 1024];
    for (const size of sizes) {
      for (const payload of [Buffer.alloc(size, 0x7b), 'x'.repeat(size)]) {
        const client = await TestClient.connect(t.wsUrl, token);
        client.socket.send(payload);
        expect((await client.closed).code).toBe(CloseCode.tooBig);
      }
    }
    bystander.send({ op: 'ping' });
    await bystander.next((f) => f.op === 'pong');
    await bystander.close();
  });
});
