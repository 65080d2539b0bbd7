import { expect, it } from 'vitest';
import type { TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/** The per-topic byte cap the hubs of these tests run with: about ten 1 KiB frames. */
export const topicBytes = 10 * 1024;

/**
 * A client resuming over the WebSocket, against a hub whose bus keeps `topicBytes` of history per topic: a `since`
 * older than what fits gets `reset`; one within it gets every later message once, in order, then the live ones.
 * Run on the in-process bus and on Redis (replay-budget-*.test.ts).
 */
export function replayBudgetSuite(hub: () => TestHub): void {
  it('answers reset beyond the byte budget and replays gap-free within it', async () => {
    const t = hub();
    const topic = 'event/expo/announcements';
    const staff = () => t.token({ role: 'staff' });
    const pad = 'x'.repeat(1000);
    const frames: string[] = [];
    // Nobody on this hub holds the topic, so no relay ring covers it: only the bus's history can answer.
    for (let i = 1; i <= 40; i++) frames.push((await t.backends.bus.publish(topic, { i, pad })).frame);
    const head = 40;
    let kept = 0;
    for (let bytes = 0; bytes + Buffer.byteLength(frames[head - 1 - kept]!) <= topicBytes; kept++) bytes += Buffer.byteLength(frames[head - 1 - kept]!);
    expect(kept).toBeGreaterThan(5);
    expect(kept).toBeLessThan(head);
    const oldestKept = head - kept + 1;

    const within = await TestClient.connect(t.wsUrl, await staff());
    expect(await within.subscribe(topic, oldestKept - 1)).toMatchObject({ op: 'ok', result: { seq: head } });
    await within.next((f) => f.op === 'msg' && f.seq === head);
    await t.backends.bus.publish(topic, { i: 41 });
    await within.next((f) => f.op === 'msg' && f.seq === 41);
    expect(within.messages(topic).map((m) => m.seq)).toEqual(Array.from({ length: head + 1 - oldestKept + 1 }, (_, k) => oldestKept + k));
    expect(within.frames.some((f) => f.op === 'reset')).toBe(false);
    await within.close();

    // The relay's ring now holds the topic's recent frames; a client resuming on a topic nobody holds anymore
    // asks the bus again, and one frame older than what fits is already a gap too old.
    const beyond = await TestClient.connect(t.wsUrl, await staff());
    beyond.send({ op: 'sub', topic, since: oldestKept - 2 });
    expect(await beyond.next((f) => f.op === 'reset')).toMatchObject({ op: 'reset', topic, seq: 41 });
    expect(beyond.messages(topic)).toEqual([]);
    await beyond.close();
  });
}
