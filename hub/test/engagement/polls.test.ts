import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollsMessage, PollsState, type Poll, type PollResults } from '@opshub/schema';
import type { TestClient } from '../support/ws-client.ts';
import { dataOn, ok, startEngagementHub, type EngagementHub } from './support.ts';

let h: EngagementHub;
let mod: TestClient;
const topic = 'event/expo/polls';

beforeAll(async () => {
  h = await startEngagementHub();
  mod = await h.client('moderator', { sub: 'mo' });
  await mod.subscribe(topic);
});
afterAll(() => h?.close());

const create = async (args: Record<string, unknown>) => ok<Poll>(await mod.command('poll.create', { event: 'expo', ...args }));
const resultsOf = (client: TestClient, poll: string): PollResults[] =>
  dataOn<PollsMessage>(client, topic).flatMap((m) => (m.type === 'results' && m.poll === poll ? [m.results] : []));

describe('a single choice poll, from draft to final results', () => {
  it('keeps drafts off the shared topic, opens, counts each attendee once, closes for good', async () => {
    const draft = await create({ kind: 'single', question: 'Best talk?', options: ['Keynote', 'Panel', 'Workshop'], session: 'main' });
    expect(draft).toMatchObject({ status: 'draft', options: [{ id: '1', label: 'Keynote' }, { id: '2', label: 'Panel' }, { id: '3', label: 'Workshop' }] });

    const voters = await Promise.all(Array.from({ length: 30 }, (_, i) => h.client('attendee', { sub: `voter-${i}` })));
    await voters[0]!.subscribe(topic);
    // Not open yet: refused, and the draft is nobody's business but the moderators'.
    expect(await voters[0]!.command('poll.vote', { event: 'expo', poll: draft.id, options: ['1'] })).toMatchObject({ op: 'err', code: 'conflict' });
    expect((await h.get<PollsState>('/api/v1/events/expo/polls', 'attendee')).body.polls.map((p) => p.id)).not.toContain(draft.id);
    expect((await h.get(`/api/v1/events/expo/polls/${draft.id}`, 'attendee')).status).toBe(404);
    expect((await h.get<PollsState>('/api/v1/events/expo/polls', 'moderator')).body.polls.map((p) => p.id)).toContain(draft.id);

    const opened = ok<Poll>(await mod.command('poll.open', { event: 'expo', poll: draft.id }));
    expect(opened.status).toBe('open');
    const announced = await voters[0]!.next((f) => f.op === 'msg' && (f.data as PollsMessage).type === 'poll');
    expect(PollsMessage.parse(announced.data)).toMatchObject({ type: 'poll', poll: { id: draft.id, status: 'open' } });

    const replies = await Promise.all(voters.map((v, i) => v.command('poll.vote', { event: 'expo', poll: draft.id, options: [String((i % 3) + 1)] })));
    expect(replies.every((r) => r.op === 'ok')).toBe(true);
    // The last results message reflects every vote (live, coalesced, exact).
    await mod.next((f) => f.op === 'msg' && (f.data as PollsMessage).type === 'results' && (f.data as { results: PollResults }).results.votes === 30);
    expect(resultsOf(mod, draft.id).at(-1)).toMatchObject({ votes: 30, counts: { '1': 10, '2': 10, '3': 10 } });
    expect(resultsOf(mod, draft.id).length).toBeLessThan(30);

    // One vote per attendee: a second is refused and changes nothing.
    expect(await voters[0]!.command('poll.vote', { event: 'expo', poll: draft.id, options: ['2'] })).toMatchObject({ op: 'err', code: 'conflict' });
    const state = (await h.get<PollsState>('/api/v1/events/expo/polls?session=main', 'attendee', 'voter-0')).body;
    expect(PollsState.parse(state).polls.find((p) => p.id === draft.id)).toMatchObject({ results: { votes: 30 }, myVote: ['1'] });

    const closed = ok<Poll>(await mod.command('poll.close', { event: 'expo', poll: draft.id }));
    expect(closed).toMatchObject({ status: 'closed', results: { votes: 30, counts: { '1': 10, '2': 10, '3': 10 } } });
    const final = await voters[0]!.next((f) => f.op === 'msg' && (f.data as PollsMessage).type === 'poll' && (f.data as { poll: Poll }).poll.status === 'closed');
    expect((final.data as { poll: Poll }).poll.results).toEqual(closed.results);
    expect(await h.client('attendee', { sub: 'late' }).then((c) => c.command('poll.vote', { event: 'expo', poll: draft.id, options: ['1'] }))).toMatchObject({
      op: 'err',
      code: 'conflict',
      message: expect.stringContaining('closed'),
    });
    expect(await mod.command('poll.close', { event: 'expo', poll: draft.id })).toMatchObject({ op: 'err', code: 'conflict' });
    expect(await mod.command('poll.settings', { event: 'expo', poll: draft.id, allowChange: true })).toMatchObject({ op: 'err', code: 'conflict' });
    const stored = (await h.get<{ poll: Poll }>(`/api/v1/events/expo/polls/${draft.id}`, 'attendee')).body.poll;
    expect(stored.results).toEqual(closed.results);

    expect((await h.audit()).filter((a) => a.target === draft.id).map((a) => a.action)).toEqual(['poll.create', 'poll.open', 'poll.close']);
    expect(await h.analyticsCount('poll.vote')).toBeGreaterThanOrEqual(30);
  });
});

describe('poll kinds', () => {
  const voteAs = async (sub: string, args: Record<string, unknown>) => (await h.client('attendee', { sub })).command('poll.vote', { event: 'expo', ...args });

  it('multiple choice: up to maxChoices distinct known options', async () => {
    const poll = await create({ kind: 'multiple', question: 'Which topics?', options: ['AI', 'Web', 'Ops', 'Data'], maxChoices: 2, open: true });
    expect(ok(await voteAs('m1', { poll: poll.id, options: ['4', '1'] }))).toEqual({ poll: poll.id, answers: ['1', '4'], changed: false });
    expect(await voteAs('m2', { poll: poll.id, options: ['1', '2', '3'] })).toMatchObject({ op: 'err', code: 'invalid', message: 'choose at most 2 options' });
    expect(await voteAs('m3', { poll: poll.id, options: ['9'] })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await voteAs('m4', { poll: poll.id, options: ['1', '1'] })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await voteAs('m5', { poll: poll.id, rating: 3 })).toMatchObject({ op: 'err', code: 'invalid', message: expect.stringContaining('multiple choice') });
    ok(await voteAs('m6', { poll: poll.id, options: ['1'] }));
    const closed = ok<Poll>(await mod.command('poll.close', { event: 'expo', poll: poll.id }));
    expect(closed.results).toEqual({ votes: 2, counts: { '1': 2, '2': 0, '3': 0, '4': 1 }, average: null, words: [], distinctWords: 0 });
  });

  it('rating 1–5 with the exact mean', async () => {
    const poll = await create({ kind: 'rating', question: 'Rate the venue', open: true });
    for (const [i, rating] of [5, 4, 4, 1].entries()) ok(await voteAs(`r${i}`, { poll: poll.id, rating }));
    expect(await voteAs('r9', { poll: poll.id, rating: 6 })).toMatchObject({ op: 'err', code: 'invalid' });
    const closed = ok<Poll>(await mod.command('poll.close', { event: 'expo', poll: poll.id }));
    expect(closed.results).toMatchObject({ votes: 4, counts: { '1': 1, '2': 0, '3': 0, '4': 2, '5': 1 }, average: 3.5 });
  });

  it('word cloud: entries normalised, limited, counted, and screened by the word filter', async () => {
    const poll = await create({ kind: 'wordcloud', question: 'One word for today?', maxWords: 2, open: true });
    expect(ok(await voteAs('w1', { poll: poll.id, words: ['  Inspiring ', 'FUN'] }))).toMatchObject({ answers: ['inspiring', 'fun'] });
    expect(ok(await voteAs('w2', { poll: poll.id, words: ['inspiring'] }))).toMatchObject({ answers: ['inspiring'] });
    expect(ok(await voteAs('w3', { poll: poll.id, words: ['Machine\t  Learning', 'machine learning'] }))).toMatchObject({ answers: ['machine learning'] });
    expect(await voteAs('w4', { poll: poll.id, words: ['a', 'b', 'c'] })).toMatchObject({ op: 'err', code: 'invalid', message: 'at most 2 entries per vote' });
    expect(await voteAs('w5', { poll: poll.id, words: ['x'.repeat(41)] })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await voteAs('w6', { poll: poll.id, words: ['   '] })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await voteAs('w7', { poll: poll.id, words: ['shit'] })).toMatchObject({ op: 'err', code: 'invalid', message: expect.stringContaining('not allowed') });
    const closed = ok<Poll>(await mod.command('poll.close', { event: 'expo', poll: poll.id }));
    expect(closed.results).toEqual({
      votes: 3,
      counts: {},
      average: null,
      words: [
        { text: 'inspiring', count: 2 },
        { text: 'fun', count: 1 },
        { text: 'machine learning', count: 1 },
      ],
      distinctWords: 3,
    });
  });

  it('a poll that allows changes replaces the vote; the setting can be switched while open', async () => {
    const poll = await create({ kind: 'single', question: 'Lunch?', options: ['Pizza', 'Salad'], allowChange: true, open: true });
    const voter = await h.client('attendee', { sub: 'changer' });
    expect(ok(await voter.command('poll.vote', { event: 'expo', poll: poll.id, options: ['1'] }))).toMatchObject({ changed: false });
    expect(ok(await voter.command('poll.vote', { event: 'expo', poll: poll.id, options: ['2'] }))).toMatchObject({ changed: true });
    const settings = ok<Poll>(await mod.command('poll.settings', { event: 'expo', poll: poll.id, allowChange: false }));
    expect(settings).toMatchObject({ allowChange: false, results: { votes: 1, counts: { '1': 0, '2': 1 } } });
    expect(await voter.command('poll.vote', { event: 'expo', poll: poll.id, options: ['1'] })).toMatchObject({ op: 'err', code: 'conflict' });
    expect(ok<Poll>(await mod.command('poll.close', { event: 'expo', poll: poll.id })).results.counts).toEqual({ '1': 0, '2': 1 });
  });

  it('refuses malformed polls and unknown ones', async () => {
    expect(await mod.command('poll.create', { event: 'expo', kind: 'single', question: 'Q?', options: ['only one'] })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await mod.command('poll.create', { event: 'expo', kind: 'rating', question: 'Q?', options: ['a', 'b'] })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await mod.command('poll.create', { event: 'expo', kind: 'single', question: 'Q?', options: ['Yes', 'yes'] })).toMatchObject({ op: 'err', code: 'invalid' });
    expect(await mod.command('poll.create', { event: 'expo', kind: 'single', question: 'x'.repeat(301), options: ['a', 'b'] })).toMatchObject({ op: 'err', code: 'invalid' });
    ok(await mod.command('poll.create', { event: 'expo', id: 'fixed-id', kind: 'rating', question: 'Once' }));
    expect(await mod.command('poll.create', { event: 'expo', id: 'fixed-id', kind: 'rating', question: 'Twice' })).toMatchObject({ op: 'err', code: 'conflict' });
    expect(await voteAs('nobody', { poll: 'no-such-poll', rating: 1 })).toMatchObject({ op: 'err', code: 'not_found' });
    expect(await voteAs('nobody2', { poll: 'fixed-id', rating: 2, options: ['1'] })).toMatchObject({ op: 'err', code: 'invalid' });
  });
});
