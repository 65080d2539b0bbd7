import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QaMessage, QaModMessage, QaState, type ModQuestion } from '@opshub/schema';
import type { Frame, TestClient } from '../support/ws-client.ts';
import { dataOn, flushTopic, ok, startEngagementHub, type EngagementHub } from './support.ts';

let h: EngagementHub;
let mod: TestClient;

beforeAll(async () => {
  h = await startEngagementHub();
  mod = await h.client('moderator', { sub: 'mo' });
});
afterAll(() => h?.close());

const topics = (session: string) => ({ pub: `event/expo/qa/${session}`, mod: `event/expo/qa/${session}/mod` });
const ask = async (client: TestClient, session: string, text: string, extra: Record<string, unknown> = {}) =>
  ok<{ id: string; status: string; question: ModQuestion }>(await client.command('qa.ask', { event: 'expo', session, text, ...extra }));
const isQuestion = (id: string) => (f: Frame) => f.op === 'msg' && (f.data as { question?: { id: string } }).question?.id === id;
const mentions = (client: TestClient, topic: string, id: string) => JSON.stringify(client.messages(topic)).includes(id);

describe('pre-moderated session (the default)', () => {
  const t = topics('keynote');
  let attendee: TestClient;
  let asker: TestClient;
  beforeAll(async () => {
    attendee = await h.client('attendee', { sub: 'watcher' });
    asker = await h.client('attendee', { sub: 'asker' });
    await attendee.subscribe(t.pub);
    await mod.subscribe(t.mod);
    await mod.subscribe(t.pub);
    // Attendees cannot watch the queue at all.
    expect(await attendee.subscribe(t.mod)).toMatchObject({ op: 'err', code: 'forbidden' });
  });

  it('keeps a question from attendees until approved, edits it before approval, then shows it', async () => {
    const asked = await ask(asker, 'keynote', 'How do you scael this?', { name: 'Ana' });
    expect(asked.status).toBe('pending');
    const queued = await mod.next(isQuestion(asked.id));
    expect(QaModMessage.parse(queued.data)).toMatchObject({ type: 'question', question: { status: 'pending', name: 'Ana', text: 'How do you scael this?' } });
    // Not on the attendees' topic, not in their REST state.
    const before = (await h.get<QaState>('/api/v1/events/expo/qa/keynote', 'attendee')).body;
    expect(before.questions.map((q) => q.id)).not.toContain(asked.id);
    expect((await h.get<QaState>('/api/v1/events/expo/qa/keynote?status=pending', 'attendee')).body.questions).toEqual([]);
    expect(attendee.messages(t.pub)).toEqual([]);
    // Nor can attendees act on it: it does not exist for them.
    expect(await attendee.command('qa.upvote', { event: 'expo', id: asked.id })).toMatchObject({ op: 'err', code: 'not_found' });

    const edited = ok<ModQuestion>(await mod.command('qa.edit', { event: 'expo', id: asked.id, text: 'How do you scale this?' }));
    expect(edited).toMatchObject({ status: 'pending', text: 'How do you scale this?', originalText: 'How do you scael this?', edited: true });
    expect(attendee.messages(t.pub)).toEqual([]);

    ok(await mod.command('qa.approve', { event: 'expo', id: asked.id }));
    const shown = QaMessage.parse((await attendee.next(isQuestion(asked.id))).data);
    expect(shown).toEqual({
      type: 'question',
      question: { id: asked.id, session: 'keynote', text: 'How do you scale this?', name: 'Ana', status: 'approved', pinned: false, answered: false, upvotes: 0, edited: true, createdAt: expect.any(Number) },
    });
    // The attendee view never carries the moderators' fields.
    expect(shown.type === 'question' && 'originalText' in shown.question).toBe(false);
    const after = QaState.parse((await h.get('/api/v1/events/expo/qa/keynote', 'attendee')).body);
    expect(after.questions.map((q) => q.id)).toEqual([asked.id]);
  });

  it('never shows a rejected question to attendees', async () => {
    const asked = await ask(asker, 'keynote', 'Something off-topic');
    await mod.next(isQuestion(asked.id));
    ok(await mod.command('qa.reject', { event: 'expo', id: asked.id }));
    // A later approved question acts as a marker: everything published before it has been delivered.
    const marker = await ask(asker, 'keynote', 'Marker question');
    await flushTopic(attendee, () => mod.command('qa.approve', { event: 'expo', id: marker.id }), isQuestion(marker.id));
    expect(mentions(attendee, t.pub, asked.id)).toBe(false);
    const states = await Promise.all(['', '?status=rejected', '?status=all', '?order=recent'].map((q) => h.get<QaState>(`/api/v1/events/expo/qa/keynote${q}`, 'attendee')));
    for (const s of states) expect(s.body.questions.map((q) => q.id)).not.toContain(asked.id);
    // Moderators still see it, as rejected.
    const modState = (await h.get<QaState>('/api/v1/events/expo/qa/keynote?status=rejected', 'moderator')).body;
    expect(modState.questions.map((q) => [q.id, q.status])).toContainEqual([asked.id, 'rejected']);
    // Rejecting an approved question takes it back from attendees.
    ok(await mod.command('qa.reject', { event: 'expo', id: marker.id }));
    expect(QaMessage.parse((await attendee.next((f) => f.op === 'msg' && (f.data as QaMessage).type === 'removed')).data)).toEqual({ type: 'removed', id: marker.id });
  });

  it('anonymous questions carry no name anywhere', async () => {
    const shy = await h.client('attendee', { sub: 'shy-asker' });
    const asked = await ask(shy, 'keynote', 'Who am I?', { anonymous: true, name: 'Should not show' });
    ok(await mod.command('qa.approve', { event: 'expo', id: asked.id }));
    const shown = await attendee.next(isQuestion(asked.id));
    expect((shown.data as QaMessage & { type: 'question' }).question.name).toBeNull();
    expect(JSON.stringify([attendee.frames, mod.frames])).not.toContain('Should not show');
    expect(JSON.stringify([attendee.frames, mod.frames])).not.toContain('shy-asker');
  });
});

describe('post-moderated session', () => {
  const t = topics('panel');
  let attendee: TestClient;
  beforeAll(async () => {
    attendee = await h.client('attendee', { sub: 'panel-watcher' });
    await attendee.subscribe(t.pub);
    await mod.subscribe(t.mod);
    expect(ok(await mod.command('qa.settings', { event: 'expo', session: 'panel', moderation: 'post' }))).toEqual({ moderation: 'post', open: true });
    await attendee.next((f) => f.op === 'msg' && (f.data as QaMessage).type === 'settings');
  });

  it('shows questions at once, but holds one that trips the word filter', async () => {
    const asker = await h.client('attendee', { sub: 'panel-asker' });
    const clean = await ask(asker, 'panel', 'What is next?');
    expect(clean.status).toBe('approved');
    await attendee.next(isQuestion(clean.id));
    const rude = await ask(asker, 'panel', 'Why is this so shit?');
    expect(rude).toMatchObject({ status: 'pending', question: { flagged: true } });
    const later = await ask(await h.client('attendee'), 'panel', 'A clean one after');
    await attendee.next(isQuestion(later.id));
    expect(mentions(attendee, t.pub, rude.id)).toBe(false);
  });

  it('upvotes once per attendee, coalesced, ordered by votes or recency', async () => {
    const asker = await h.client('attendee', { sub: 'ranker' });
    const first = await ask(asker, 'panel', 'First asked');
    const second = await ask(await h.client('attendee'), 'panel', 'Second asked');
    const fans = await Promise.all(Array.from({ length: 12 }, (_, i) => h.client('attendee', { sub: `fan-${i}` })));
    const replies = await Promise.all(fans.map((f) => f.command('qa.upvote', { event: 'expo', id: second.id })));
    expect(replies.map((r) => ok<{ counted: boolean }>(r).counted)).toEqual(Array(12).fill(true));
    expect(ok(await fans[0]!.command('qa.upvote', { event: 'expo', id: second.id }))).toEqual({ id: second.id, upvotes: 12, counted: false });
    ok(await fans[1]!.command('qa.upvote', { event: 'expo', id: first.id }));
    await attendee.next((f) => f.op === 'msg' && (f.data as QaMessage).type === 'upvotes' && (f.data as { counts: Record<string, number> }).counts[second.id] === 12);
    const upvoteMessages = dataOn<QaMessage>(attendee, t.pub).filter((m) => m.type === 'upvotes');
    expect(upvoteMessages.length).toBeLessThan(13);

    const byVotes = QaState.parse((await h.get('/api/v1/events/expo/qa/panel?order=votes', 'attendee', 'fan-1')).body);
    expect(byVotes.questions.slice(0, 2).map((q) => [q.id, q.upvotes, q.upvoted])).toEqual([
      [second.id, 12, true],
      [first.id, 1, true],
    ]);
    const byRecency = QaState.parse((await h.get('/api/v1/events/expo/qa/panel?order=recent', 'attendee', 'fan-5')).body);
    const ids = byRecency.questions.map((q) => q.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    expect(byRecency.questions.find((q) => q.id === first.id)?.upvoted).toBe(false);
    expect(await h.analyticsCount('qa.upvote')).toBe(13);
  });

  it('pins one question at a time, marks answered (which unpins), and audits it all', async () => {
    const a = await ask(await h.client('attendee'), 'panel', 'Pin me');
    const b = await ask(await h.client('attendee'), 'panel', 'No, pin me');
    expect(ok<ModQuestion>(await mod.command('qa.pin', { event: 'expo', id: a.id })).pinned).toBe(true);
    expect(ok<ModQuestion>(await mod.command('qa.pin', { event: 'expo', id: b.id })).pinned).toBe(true);
    const unpinned = await attendee.next((f) => isQuestion(a.id)(f) && (f.data as { question: ModQuestion }).question.pinned === false);
    expect(unpinned).toBeDefined();
    const state = QaState.parse((await h.get('/api/v1/events/expo/qa/panel', 'attendee')).body);
    expect(state.questions.filter((q) => q.pinned).map((q) => q.id)).toEqual([b.id]);
    expect(ok<ModQuestion>(await mod.command('qa.answer', { event: 'expo', id: b.id }))).toMatchObject({ answered: true, pinned: false });
    // Repeating a state is a no-op, not an error; pinning a pending question is a conflict.
    expect(ok<ModQuestion>(await mod.command('qa.answer', { event: 'expo', id: b.id }))).toMatchObject({ answered: true });
    const actions = (await h.audit()).filter((e) => e.target === a.id || e.target === b.id).map((e) => `${e.action}:${e.target === a.id ? 'a' : 'b'}`);
    expect(actions).toEqual(['qa.pin:a', 'qa.pin:b', 'qa.answer:b']);
    expect(await h.analyticsCount('qa.question')).toBeGreaterThanOrEqual(8);
  });

  it('closing a session refuses new questions', async () => {
    ok(await mod.command('qa.settings', { event: 'expo', session: 'panel', open: false }));
    expect(await (await h.client('attendee')).command('qa.ask', { event: 'expo', session: 'panel', text: 'Too late?' })).toMatchObject({ op: 'err', code: 'conflict' });
    expect(ok(await mod.command('qa.settings', { event: 'expo', session: 'panel', open: true }))).toEqual({ moderation: 'post', open: true });
  });
});

describe('limits', () => {
  it('bounds question length and rate per user', async () => {
    const asker = await h.client('attendee', { sub: 'chatty' });
    expect(await asker.command('qa.ask', { event: 'expo', session: 's3', text: 'x'.repeat(301) })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await asker.command('qa.ask', { event: 'expo', session: 's3', text: '   ' })).toMatchObject({ op: 'err', code: 'invalid' });
    for (let i = 0; i < 3; i++) ok(await asker.command('qa.ask', { event: 'expo', session: 's3', text: `question ${i}` }));
    expect(await asker.command('qa.ask', { event: 'expo', session: 's3', text: 'one too many' })).toMatchObject({ op: 'err', code: 'rate_limited' });
    // Another attendee has a bucket of their own.
    ok(await (await h.client('attendee')).command('qa.ask', { event: 'expo', session: 's3', text: 'mine' }));
  });

  it('pinning needs an approved question', async () => {
    const pending = await ask(await h.client('attendee'), 'pre-only', 'Pending');
    expect(await mod.command('qa.pin', { event: 'expo', id: pending.id })).toMatchObject({ op: 'err', code: 'conflict' });
    expect(await mod.command('qa.approve', { event: 'expo', id: 'nope' })).toMatchObject({ op: 'err', code: 'not_found' });
  });
});
