import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatModMessage, ChatRoomMessage, ChatState, type ChatMessage } from '@opshub/schema';
import { WordFilter } from '../../src/streams/chat/word-filter.ts';
import type { Frame, TestClient } from '../support/ws-client.ts';
import { flushTopic, ok, startEngagementHub, until, type EngagementHub } from './support.ts';

let h: EngagementHub;
let mod: TestClient;

beforeAll(async () => {
  h = await startEngagementHub();
  mod = await h.client('moderator', { sub: 'mo' });
});
afterAll(() => h?.close());

const topics = (room: string) => ({ room: `event/expo/chat/${room}`, mod: `event/expo/chat/${room}/mod` });
const send = (client: TestClient, room: string, text: string, extra: Record<string, unknown> = {}) => client.command('chat.send', { event: 'expo', room, text, ...extra });
const isMessage = (id: string) => (f: Frame) => f.op === 'msg' && JSON.stringify(f.data).includes(id);
const textOn = (client: TestClient, topic: string) => client.messages(topic).map((m) => (m.data as { message?: ChatMessage }).message?.text ?? '');

describe('word filter: bad-words plus the event list, masked or held', () => {
  const mask = topics('lobby');
  const hold = topics('stage');
  let listener: TestClient;
  let sender: TestClient;
  beforeAll(async () => {
    listener = await h.client('attendee', { sub: 'listener' });
    sender = await h.client('attendee', { sub: 'sender' });
    for (const t of [mask.room, hold.room]) await listener.subscribe(t);
    for (const t of [mask.room, mask.mod, hold.room, hold.mod]) await mod.subscribe(t);
    expect(await listener.subscribe(hold.mod)).toMatchObject({ op: 'err', code: 'forbidden' });
    ok(await mod.command('chat.settings', { event: 'expo', room: 'stage', filter: 'hold' }));
  });

  it('masks a library word in a mask room, keeping the original for moderators only', async () => {
    const reply = ok<{ id: string; status: string; masked: boolean }>(await send(sender, 'lobby', 'this is shit honestly'));
    expect(reply).toMatchObject({ status: 'visible', masked: true });
    const seen = ChatRoomMessage.parse((await listener.next(isMessage(reply.id))).data);
    expect(seen).toMatchObject({ type: 'message', message: { text: 'this is **** honestly', masked: true, author: 'sender' } });
    const flagged = ChatModMessage.parse((await mod.next((f) => f.topic === mask.mod && isMessage(reply.id)(f))).data);
    expect(flagged).toMatchObject({ type: 'flagged', message: { original: 'this is shit honestly' } });
    expect(JSON.stringify(listener.frames)).not.toContain('shit');
  });

  it('holds a library word in a hold room: moderators review it, attendees never see it unless approved', async () => {
    const reply = ok<{ id: string; status: string }>(await send(sender, 'stage', 'what the fuck'));
    expect(reply.status).toBe('held');
    const held = ChatModMessage.parse((await mod.next((f) => f.topic === hold.mod && isMessage(reply.id)(f))).data);
    expect(held).toMatchObject({ type: 'held', message: { text: 'what the fuck', status: 'held' } });
    const clean = ok<{ id: string }>(await send(sender, 'stage', 'a clean line'));
    await listener.next(isMessage(clean.id));
    expect(JSON.stringify(listener.messages(hold.room))).not.toContain(reply.id);
    expect((await h.get<ChatState>('/api/v1/events/expo/chat/stage', 'attendee')).body.messages.map((m) => m.id)).not.toContain(reply.id);
    const modState = ChatState.parse((await h.get('/api/v1/events/expo/chat/stage', 'moderator')).body);
    expect(modState.held?.map((m) => m.id)).toContain(reply.id);

    ok(await mod.command('chat.approve', { event: 'expo', id: reply.id }));
    const released = ChatRoomMessage.parse((await listener.next(isMessage(reply.id))).data);
    expect(released).toMatchObject({ type: 'message', message: { id: reply.id, text: 'what the fuck', status: 'visible' } });
  });

  it('applies a word moderators add live, in both modes, and stops when they remove it', async () => {
    // A sender of its own: the others' messages count against their rate limit.
    const sender = await h.client('attendee', { sub: 'spoiler' });
    const before = ok<{ id: string; masked: boolean }>(await send(sender, 'lobby', 'spoilers: Rosebud is the sled'));
    expect(before.masked).toBe(false);
    const words = ok<{ words: string[]; version: number }>(await mod.command('chat.words', { event: 'expo', add: ['Rosebud', 'plot twist'], room: 'lobby' }));
    expect(words.words).toEqual(['plot twist', 'rosebud']);
    expect(ChatModMessage.parse((await mod.next((f) => f.topic === mask.mod && (f.data as { type: string }).type === 'words')).data)).toMatchObject({ words: ['plot twist', 'rosebud'] });

    const masked = ok<{ id: string; masked: boolean }>(await send(sender, 'lobby', 'ROSEBUD! What a Plot  Twist.'));
    expect(masked.masked).toBe(true);
    expect((await listener.next(isMessage(masked.id))).data).toMatchObject({ message: { text: '*******! What a ****  *****.' } });

    const held = ok<{ id: string; status: string }>(await send(sender, 'stage', 'it was rosebud'));
    expect(held.status).toBe('held');
    // Whole words only: "rosebuds" is not the listed word.
    expect(ok<{ masked: boolean }>(await send(await h.client('attendee'), 'lobby', 'rosebuds in spring')).masked).toBe(false);

    ok(await mod.command('chat.words', { event: 'expo', remove: ['rosebud'] }));
    expect(ok<{ masked: boolean }>(await send(await h.client('attendee'), 'lobby', 'rosebud again')).masked).toBe(false);
    expect((await h.get<{ words: string[] }>('/api/v1/events/expo/moderation/words', 'moderator')).body.words).toEqual(['plot twist']);
    expect((await h.get('/api/v1/events/expo/moderation/words', 'attendee')).status).toBe(403);
    expect((await h.audit()).filter((e) => e.action === 'chat.words')).toHaveLength(2);
  });

  it('agrees with bad-words on what is profane', async () => {
    const { Filter } = await import('bad-words');
    const library = new Filter();
    const filter = new WordFilter();
    for (const text of ['hello world', 'you ass', 'class assignment', 'Scunthorpe', 'what a bitch', 'shitty', 'glass of water', 'BASTARD!', 'f u c k']) {
      expect([text, filter.check(text).flagged]).toEqual([text, library.isProfane(text)]);
    }
    expect(filter.check('Blow  Job').masked).toBe('****  ***');
    expect(new WordFilter(['straße']).check('Die Straße ist gesperrt').masked).toBe('Die ****** ist gesperrt');
  });
});

describe('moderation: delete, mute, rate and length limits', () => {
  const t = topics('hall');
  let listener: TestClient;
  beforeAll(async () => {
    listener = await h.client('attendee', { sub: 'hall-listener' });
    await listener.subscribe(t.room);
    await mod.subscribe(t.mod);
  });

  it('deletes a message and broadcasts the removal', async () => {
    const sender = await h.client('attendee', { sub: 'oops' });
    const sent = ok<{ id: string }>(await send(sender, 'hall', 'regrettable'));
    await listener.next(isMessage(sent.id));
    expect(ok(await mod.command('chat.delete', { event: 'expo', id: sent.id }))).toEqual({ id: sent.id, room: 'hall' });
    const removal = ChatRoomMessage.parse((await listener.next((f) => f.op === 'msg' && (f.data as { type: string }).type === 'deleted')).data);
    expect(removal).toEqual({ type: 'deleted', id: sent.id });
    expect((await h.get<ChatState>('/api/v1/events/expo/chat/hall', 'attendee')).body.messages.map((m) => m.id)).not.toContain(sent.id);
    // Twice is harmless; audited once.
    ok(await mod.command('chat.delete', { event: 'expo', id: sent.id }));
    expect((await h.audit()).filter((e) => e.action === 'chat.delete' && e.target === sent.id)).toHaveLength(1);
  });

  it('refuses a muted user with the time the mute ends, until it ends', async () => {
    const troll = await h.client('attendee', { sub: 'troll' });
    ok(await send(troll, 'hall', 'first'));
    const muted = ok<{ user: string; until: number }>(await mod.command('chat.mute', { event: 'expo', user: 'troll', seconds: 1, reason: 'spam', room: 'hall' }));
    expect(ChatModMessage.parse((await mod.next((f) => f.topic === t.mod && (f.data as { type: string }).type === 'muted')).data)).toMatchObject({ user: 'troll', until: muted.until, reason: 'spam' });
    const refused = await send(troll, 'hall', 'let me in');
    expect(refused).toMatchObject({ op: 'err', code: 'forbidden' });
    expect(refused.message).toContain(new Date(muted.until).toISOString());
    // The mute is in the Store: the mutes list shows it, any hub would refuse the same way.
    expect((await h.get<{ mutes: { user: string }[] }>('/api/v1/events/expo/moderation/mutes', 'moderator')).body.mutes.map((m) => m.user)).toEqual(['troll']);
    // The end of a mute is a moment on the database clock: probe the observable effect, bounded.
    const accepted = await until(async () => {
      const reply = await send(troll, 'hall', 'back');
      if (reply.op === 'ok') return reply;
      expect(reply).toMatchObject({ code: 'forbidden' });
      return undefined;
    }, 5000, 100);
    expect(Date.now()).toBeGreaterThanOrEqual(muted.until - 50);
    expect(accepted.op).toBe('ok');
    expect((await h.audit()).filter((e) => e.action === 'chat.mute' && e.target === 'troll')).toHaveLength(1);
  });

  it('lifts a mute early', async () => {
    ok(await mod.command('chat.mute', { event: 'expo', user: 'pardoned', seconds: 3600 }));
    const user = await h.client('attendee', { sub: 'pardoned' });
    expect(await send(user, 'hall', 'hello?')).toMatchObject({ op: 'err', code: 'forbidden' });
    expect(ok(await mod.command('chat.unmute', { event: 'expo', user: 'pardoned' }))).toEqual({ user: 'pardoned', muted: false });
    ok(await send(user, 'hall', 'thanks'));
  });

  it('limits each user to a burst of 5, then one per second, and bounds the length', async () => {
    const fast = await h.client('attendee', { sub: 'fast' });
    const replies = await Promise.all(Array.from({ length: 7 }, (_, i) => send(fast, 'hall', `msg ${i}`)));
    expect(replies.filter((r) => r.op === 'ok')).toHaveLength(5);
    expect(replies.filter((r) => r.op === 'err').every((r) => r.code === 'rate_limited')).toBe(true);
    // Someone else is not affected.
    const other = await h.client('attendee');
    ok(await send(other, 'hall', 'me too'));
    // (The fast one is refused in memory for a moment after its refusal, whatever it sends: issue #11.)
    expect(await send(fast, 'hall', 'x'.repeat(501))).toMatchObject({ op: 'err', code: 'rate_limited' });
    expect(await send(other, 'hall', 'x'.repeat(501))).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await send(other, 'hall', '   ')).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await h.analyticsCount('chat.message')).toBeGreaterThanOrEqual(10);
  });

  it('serves history oldest first, and a closed room refuses messages', async () => {
    const state = ChatState.parse((await h.get('/api/v1/events/expo/chat/hall', 'attendee')).body);
    const times = state.messages.map((m) => m.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(state.messages.every((m) => !('original' in m))).toBe(true);
    ok(await mod.command('chat.settings', { event: 'expo', room: 'hall', open: false }));
    await flushTopic(listener, async () => undefined, (f) => (f.data as { type: string }).type === 'settings');
    expect(await send(await h.client('attendee'), 'hall', 'anyone?')).toMatchObject({ op: 'err', code: 'conflict' });
    expect(ok(await mod.command('chat.settings', { event: 'expo', room: 'hall', open: true }))).toEqual({ filter: 'mask', open: true });
  });
});
