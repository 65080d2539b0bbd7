/**
 * The engagement pages' client logic without a browser: the word-cloud layout, how results, polls and questions are
 * shown, refusals in words, joining, navigation by role, and the REST-snapshot-then-resume sync over the live layer.
 */
import { describe, expect, it } from 'vitest';
import type { Poll, PollResults } from '@opshub/schema';
import { normalizeJoinCode } from '@opshub/schema/join';
import { HubApiError } from '../src/lib/api/hub-api.ts';
import { describeRefusal, duration } from '../src/lib/engagement/chat-errors.ts';
import { DisplayNames, nameToSend } from '../src/lib/engagement/display-name.ts';
import { describeJoinError, joinEvent, joinLink, RememberedJoins } from '../src/lib/engagement/join.ts';
import { currentPoll, openPolls, resultsView } from '../src/lib/engagement/poll-results-view.ts';
import { pinnedQuestion, sortQuestions } from '../src/lib/engagement/question-order.ts';
import { RecentSessions } from '../src/lib/engagement/recent-sessions.ts';
import { SnapshotSync } from '../src/lib/engagement/snapshot-sync.ts';
import { estimateWidth, layoutWordCloud, type PlacedWord } from '../src/lib/engagement/word-cloud-layout.ts';
import { LiveConnection } from '../src/lib/live/live-connection.ts';
import { moderationEntry, navFor } from '../src/lib/navigation.ts';
import { FakeBrowser } from './support/fake-socket.ts';

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string) => void this.items.set(k, v);
  removeItem = (k: string) => void this.items.delete(k);
}

const overlap = (a: PlacedWord, b: PlacedWord) =>
  Math.abs(a.x - b.x) * 2 < a.width + b.width && Math.abs(a.y - b.y) * 2 < a.height + b.height;

describe('layoutWordCloud', () => {
  const area = { width: 800, height: 420 };
  const words = Array.from({ length: 40 }, (_, i) => ({ text: `word${i}${'x'.repeat(i % 7)}`, count: 40 - i + (i % 3) }));

  it('places the most frequent word in the middle, biggest, and never overlaps two words or leaves the area', () => {
    const placed = layoutWordCloud(words, area);
    expect(placed.length).toBeGreaterThan(25);
    const top = placed[0]!;
    expect(top.rank).toBe(0);
    expect(top.x).toBeCloseTo(400, 0);
    expect(top.y).toBeCloseTo(210, 0);
    for (let i = 0; i < placed.length; i++) {
      const w = placed[i]!;
      expect(w.x - w.width / 2).toBeGreaterThanOrEqual(0);
      expect(w.x + w.width / 2).toBeLessThanOrEqual(800);
      expect(w.y - w.height / 2).toBeGreaterThanOrEqual(0);
      expect(w.y + w.height / 2).toBeLessThanOrEqual(420);
      for (let j = i + 1; j < placed.length; j++) expect(overlap(w, placed[j]!), `${w.text} overlaps ${placed[j]!.text}`).toBe(false);
    }
    // Sizes follow the counts: more frequent is never smaller.
    const bySize = [...placed].sort((a, b) => b.count - a.count);
    for (let i = 1; i < bySize.length; i++) expect(bySize[i]!.size).toBeLessThanOrEqual(bySize[i - 1]!.size + 1e-9);
  });

  it('scales area with the square root of the count, and is deterministic', () => {
    const placed = layoutWordCloud(
      [
        { text: 'a', count: 1 },
        { text: 'b', count: 4 },
        { text: 'c', count: 16 },
      ],
      { ...area, minSize: 10, maxSize: 70 },
    );
    const size = Object.fromEntries(placed.map((w) => [w.text, w.size]));
    expect(size).toEqual({ c: 70, b: 30, a: 10 });
    expect(layoutWordCloud(words, area)).toEqual(layoutWordCloud([...words].reverse(), area));
  });

  it('centres a single word at the largest size; ignores empty entries; answers nothing for nothing', () => {
    expect(layoutWordCloud([], area)).toEqual([]);
    const [only, ...rest] = layoutWordCloud([{ text: 'rust', count: 3 }, { text: '', count: 9 }, { text: 'zero', count: 0 }], { ...area, maxSize: 90 });
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ text: 'rust', x: 400, y: 210, size: 90 });
  });

  it('shrinks a word wider than the area, and leaves out what finds no room rather than overlapping it', () => {
    const long = 'x'.repeat(80);
    const [w] = layoutWordCloud([{ text: long, count: 5 }], area);
    expect(w!.width).toBeLessThanOrEqual(800);
    const crowded = layoutWordCloud(words, { width: 160, height: 90, minSize: 14, maxSize: 30 });
    expect(crowded.length).toBeLessThan(words.length);
    for (let i = 0; i < crowded.length; i++) for (let j = i + 1; j < crowded.length; j++) expect(overlap(crowded[i]!, crowded[j]!)).toBe(false);
  });

  it('uses the given measure', () => {
    const wide = layoutWordCloud([{ text: 'ab', count: 1 }], { ...area, measure: (t, s) => t.length * s * 2 });
    const estimated = layoutWordCloud([{ text: 'ab', count: 1 }], area);
    expect(wide[0]!.width).toBeGreaterThan(estimated[0]!.width);
    expect(estimated[0]!.width).toBeCloseTo(estimateWidth('ab', estimated[0]!.size));
  });
});

const results = (r: Partial<PollResults>): PollResults => ({ votes: 0, counts: {}, average: null, words: [], distinctWords: 0, ...r });
const options = [
  { id: '1', label: 'Rust' },
  { id: '2', label: 'Go' },
  { id: '3', label: 'Zig' },
];

describe('resultsView', () => {
  it('shows every option in order with its count and share of the voters; a missing count is 0', () => {
    const view = resultsView({ kind: 'single', options, results: results({ votes: 3, counts: { '1': 2, '2': 1 } }) });
    expect(view.rows).toEqual([
      { id: '1', label: 'Rust', count: 2, percent: 67 },
      { id: '2', label: 'Go', count: 1, percent: 33 },
      { id: '3', label: 'Zig', count: 0, percent: 0 },
    ]);
    expect(view.summary).toBe('3 votes');
  });

  it('multiple choice shares are of voters, so they may add up past 100', () => {
    const view = resultsView({ kind: 'multiple', options, results: results({ votes: 2, counts: { '1': 2, '2': 2, '3': 1 } }) });
    expect(view.rows.map((r) => r.percent)).toEqual([100, 100, 50]);
  });

  it('ratings: five rows and the mean to one decimal; nothing yet reads as such', () => {
    const view = resultsView({ kind: 'rating', options: [], results: results({ votes: 3, counts: { '5': 2, '3': 1 }, average: 13 / 3 }) });
    expect(view.rows.map((r) => [r.label, r.count])).toEqual([['1 ★', 0], ['2 ★', 0], ['3 ★', 1], ['4 ★', 0], ['5 ★', 2]]);
    expect(view.average).toBe('4.3');
    expect(resultsView({ kind: 'rating', options: [], results: results({}) })).toMatchObject({ average: null, summary: 'No votes yet' });
  });

  it('word clouds carry the words and no rows', () => {
    const words = [{ text: 'fast', count: 3 }];
    const view = resultsView({ kind: 'wordcloud', options: [], results: results({ votes: 1, words, distinctWords: 1 }) });
    expect(view).toMatchObject({ rows: [], words, distinctWords: 1, summary: '1 vote' });
  });
});

describe('currentPoll and openPolls', () => {
  const poll = (id: string, status: Poll['status'], at: { createdAt?: number; openedAt?: number; closedAt?: number }) => ({
    id,
    status,
    createdAt: at.createdAt ?? 0,
    openedAt: at.openedAt ?? null,
    closedAt: at.closedAt ?? null,
  });

  it('is the open poll opened last; with none open, the poll closed last; never a draft', () => {
    const polls = [poll('a', 'open', { openedAt: 10 }), poll('b', 'open', { openedAt: 30 }), poll('c', 'closed', { closedAt: 50 }), poll('d', 'draft', { createdAt: 99 })];
    expect(currentPoll(polls)?.id).toBe('b');
    expect(openPolls(polls).map((p) => p.id)).toEqual(['b', 'a']);
    expect(currentPoll(polls.filter((p) => p.status !== 'open'))?.id).toBe('c');
    expect(currentPoll([poll('d', 'draft', {})])).toBeUndefined();
  });
});

describe('sortQuestions', () => {
  const q = (id: string, upvotes: number, createdAt: number, extra: { pinned?: boolean; answered?: boolean } = {}) => ({
    id,
    upvotes,
    createdAt,
    pinned: extra.pinned ?? false,
    answered: extra.answered ?? false,
    status: 'approved' as const,
  });
  const list = [q('a', 1, 10), q('b', 5, 20), q('c', 5, 5), q('d', 9, 30, { answered: true }), q('e', 0, 40, { pinned: true }), q('f', 1, 10)];

  it('by votes: pinned first, then most upvoted (oldest first on a tie, then id), answered last', () => {
    expect(sortQuestions(list, 'votes').map((x) => x.id)).toEqual(['e', 'c', 'b', 'a', 'f', 'd']);
  });

  it('by recency: pinned first, newest first, answered last', () => {
    expect(sortQuestions(list, 'recent').map((x) => x.id)).toEqual(['e', 'b', 'a', 'f', 'c', 'd']);
    expect(pinnedQuestion(list)?.id).toBe('e');
    expect(list.map((x) => x.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']); // not sorted in place
  });
});

describe('refusals in words', () => {
  const fmt = (ms: number) => new Date(ms).toISOString().slice(11, 16);

  it('says until when a muted person is muted', () => {
    const text = describeRefusal('forbidden', 'you are muted in this event until 2026-05-04T10:15:00.000Z (300 s from now)', fmt);
    expect(text).toBe('You are muted by a moderator until 10:15 (about 5 min). Your message was not sent.');
  });

  it('rate limits, closed rooms, invalid entries', () => {
    expect(describeRefusal('rate_limited', 'at most 5 messages at once, then one per 1 s: try again in 400 ms', fmt)).toBe('Slow down a little: try again in 1 s. Your message was not sent.');
    expect(describeRefusal('rate_limited', 'at most 3 questions at once: try again in 12 s', fmt, 'question')).toContain('in 12 s. Your question');
    expect(describeRefusal('conflict', 'chat room "k" is closed', fmt)).toBe('This is closed right now, so your message was not sent.');
    expect(describeRefusal('invalid', 'that entry is not allowed in this word cloud', fmt, 'vote')).toBe('Not accepted: that entry is not allowed in this word cloud.');
    expect([duration(45), duration(600), duration(7200)]).toEqual(['45 s', 'about 10 min', 'about 2 h']);
  });
});

const fakeJwt = (payload: Record<string, unknown>) => `h.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.s`;

describe('joining', () => {
  it('normalises codes the way people type them', () => {
    expect(normalizeJoinCode(' k7p-2qx ')).toBe('K7P2QX');
  });

  it('posts the normalised code and parses the answer; maps refusals to advice', async () => {
    const calls: { url: string; body: string }[] = [];
    const ok: typeof fetch = async (url, init) => {
      calls.push({ url: String(url), body: String(init?.body) });
      return new Response(JSON.stringify({ token: 't', sub: 'att-1', role: 'attendee', event: 'expo', expiresAt: 1 }), { status: 201 });
    };
    expect(await joinEvent(ok, 'expo', 'k7p-2qx')).toMatchObject({ token: 't', sub: 'att-1' });
    expect(calls).toEqual([{ url: '/api/v1/events/expo/join', body: '{"code":"K7P2QX"}' }]);

    const refuse = (status: number, error: string, message = 'no'): typeof fetch => async () => new Response(JSON.stringify({ error, message }), { status });
    const failure = await joinEvent(refuse(403, 'forbidden'), 'expo', 'ZZZZZZ').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(HubApiError);
    expect(describeJoinError(failure)).toMatch(/does not open this event/);
    expect(describeJoinError(await joinEvent(refuse(429, 'rate_limited', 'too many wrong join codes from your address: try again in 6 s'), 'e', 'ABCDEF').catch((e: unknown) => e))).toBe(
      'Too many tries from this network. Please try again in 6 s.',
    );
    expect(describeJoinError(await joinEvent(refuse(501, 'unavailable'), 'e', 'ABCDEF').catch((e: unknown) => e))).toMatch(/sign-in link/);
    const offline: typeof fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    expect(await joinEvent(offline, 'e', 'ABCDEF').catch((e: unknown) => e)).toMatchObject({ status: 0, code: 'unavailable' });
  });

  it('remembers a valid attendee token per event, and forgets expired, foreign or unreadable ones', () => {
    const storage = new MemoryStorage();
    const joins = new RememberedJoins(storage);
    const now = 1_800_000_000_000;
    const good = fakeJwt({ sub: 'att-1', role: 'attendee', events: ['expo'], exp: now / 1000 + 3600 });
    joins.remember('expo', good);
    expect(joins.get('expo', now)).toBe(good);
    expect(joins.get('other', now)).toBeUndefined();
    joins.remember('expo', fakeJwt({ sub: 'att-1', role: 'attendee', events: ['expo'], exp: now / 1000 + 30 }));
    expect(joins.get('expo', now)).toBeUndefined(); // about to expire counts as expired
    expect(storage.items.size).toBe(0);
    joins.remember('expo', fakeJwt({ sub: 'staff', role: 'staff', events: ['expo'] }));
    expect(joins.get('expo', now)).toBeUndefined();
    joins.remember('expo', 'garbage');
    expect(joins.get('expo', now)).toBeUndefined();
  });

  it('builds the join link', () => {
    expect(joinLink('https://hub.example', 'expo', 'key note', 'K7P2QX')).toBe('https://hub.example/live/expo/key%20note?code=K7P2QX');
  });

  it('keeps a valid display name and sends nothing for an empty or too long one', () => {
    const names = new DisplayNames(new MemoryStorage());
    expect(names.set('  Dana ')).toBe('Dana');
    expect(names.get()).toBe('Dana');
    expect(names.set('   ')).toBeUndefined();
    expect(names.get()).toBe('');
    expect(nameToSend('x'.repeat(61))).toBeUndefined();
    const recent = new RecentSessions(new MemoryStorage(), 2);
    for (const s of ['a', 'b', 'a', 'c']) recent.add('expo', s);
    expect(recent.list('expo')).toEqual(['c', 'a']);
  });
});

describe('navigation by role', () => {
  it('gives attendees the audience page of a session, and the room runners the moderator page and projector too', () => {
    expect(navFor({ role: 'attendee' }, 'expo', 'keynote').map((i) => i.href)).toEqual(['/announcements/expo', '/live/expo/keynote']);
    expect(navFor({ role: 'moderator' }, 'expo', 'keynote').map((i) => i.label)).toEqual(['Moderation', 'Announcements', 'Audience', 'Moderate', 'Projector']);
    expect(navFor({ role: 'staff' }, 'expo', 'keynote').map((i) => i.label)).toEqual(['Control room', 'Box office', 'Tickets', 'Gates', 'Set-up', 'Sessions', 'Audit', 'Moderation', 'Sponsors', 'Announcements', 'Audience', 'Moderate', 'Projector']);
    expect(navFor({ role: 'moderator' }, 'expo').map((i) => i.label), 'selling and money are for staff and admins').not.toContain('Box office');
    for (const role of ['gate', 'exhibitor', 'sponsor'] as const) expect(navFor({ role }, 'expo', 'keynote').map((i) => i.label)).toEqual(['Announcements']);
    expect(moderationEntry({ role: 'admin' }, 'expo')).toEqual({ href: '/moderate/expo', label: 'Moderation' });
    expect(moderationEntry({ role: 'attendee' }, 'expo')).toBeUndefined();
  });
});

describe('SnapshotSync over the live layer', () => {
  it('fetches state once live, resumes from its seq so later messages apply on top, and refetches after a reset', async () => {
    const browser = new FakeBrowser();
    const live = new LiveConnection({ url: () => 'ws://hub/ws', createSocket: browser.createSocket, frameHost: browser.frameHost, random: () => 0.5 });
    const T = 'event/expo/qa/k';
    const applied: unknown[] = [];
    let loads = 0;
    let snapshotSeq = 12;
    const errors: string[] = [];
    const sync = new SnapshotSync({
      live,
      topics: [{ topic: T, message: (d) => applied.push(d) }],
      load: async () => {
        loads++;
        applied.length = 0; // the snapshot replaces what was shown
        applied.push(`snapshot@${snapshotSeq}`);
        return [snapshotSeq];
      },
      onError: (m) => errors.push(m),
    });
    const stop = sync.start();
    live.start();
    browser.socket.open();
    const first = browser.socket.lastSub();
    // A message arrives before the snapshot: it is shown, then replaced, then replayed after it.
    browser.socket.frame({ op: 'ok', id: first.id, result: { topic: T, seq: 13 } });
    browser.socket.msg(T, 14, { n: 14 });
    await Promise.resolve();
    await Promise.resolve();
    expect(loads).toBe(1);
    expect(browser.socket.lastSub()).toMatchObject({ topic: T, since: 12 });
    for (const seq of [13, 14, 15]) browser.socket.msg(T, seq, { n: seq });
    browser.socket.frame({ op: 'ok', id: browser.socket.lastSub().id, result: { topic: T, seq: 15 } });
    browser.animationFrame();
    expect(applied).toEqual(['snapshot@12', { n: 13 }, { n: 14 }, { n: 15 }]);
    expect(sync.loaded).toBe(true);

    // Confirmed again (e.g. after a reconnect): no refetch. A reset: refetch and resume from the new snapshot.
    snapshotSeq = 40;
    browser.socket.frame({ op: 'reset', topic: T, seq: 40 });
    browser.animationFrame();
    await Promise.resolve();
    await Promise.resolve();
    expect(loads).toBe(2);
    expect(browser.socket.lastSub()).toMatchObject({ topic: T, since: 40 });
    expect(errors).toEqual([]);
    stop();
    expect(browser.socket.sent.at(-1)).toEqual({ op: 'unsub', topic: T });
    live.close();
  });
});
