import type { Poll, PollResults } from '@opshub/schema';

/** One bar of a poll's results as pages show it. */
export interface ResultRow {
  readonly id: string;
  readonly label: string;
  readonly count: number;
  /** share of the people who voted, 0–100, rounded to a whole number (multiple choice shares can add up past 100) */
  readonly percent: number;
}

export interface ResultsView {
  readonly kind: Poll['kind'];
  readonly votes: number;
  /** choice polls: one row per option in the order given; rating: 5 rows "1".."5"; word cloud: none */
  readonly rows: readonly ResultRow[];
  /** rating polls: the mean, one decimal, or null before the first vote */
  readonly average: string | null;
  /** word clouds: the entries the hub sent (most frequent first) */
  readonly words: PollResults['words'];
  readonly distinctWords: number;
  /** "12 votes", "1 vote", "No votes yet" */
  readonly summary: string;
}

const ratingLabels = ['1 ★', '2 ★', '3 ★', '4 ★', '5 ★'];

/**
 * What a poll's exact tallies look like on a page: rows with counts and shares, the rating mean, the words.
 * Counts come from the hub as they are; an option the tally lacks shows 0.
 * @example resultsView(poll).rows // [{ id: '1', label: 'Yes', count: 3, percent: 75 }, ...]
 */
export function resultsView(poll: Pick<Poll, 'kind' | 'options' | 'results'>): ResultsView {
  const { results } = poll;
  const votes = results.votes;
  const share = (count: number) => (votes > 0 ? Math.round((count / votes) * 100) : 0);
  let rows: ResultRow[] = [];
  if (poll.kind === 'single' || poll.kind === 'multiple') {
    rows = poll.options.map((o) => ({ id: o.id, label: o.label, count: results.counts[o.id] ?? 0, percent: share(results.counts[o.id] ?? 0) }));
  } else if (poll.kind === 'rating') {
    rows = ratingLabels.map((label, i) => {
      const count = results.counts[String(i + 1)] ?? 0;
      return { id: String(i + 1), label, count, percent: share(count) };
    });
  }
  return {
    kind: poll.kind,
    votes,
    rows,
    average: poll.kind === 'rating' && results.average !== null ? results.average.toFixed(1) : null,
    words: poll.kind === 'wordcloud' ? results.words : [],
    distinctWords: results.distinctWords,
    summary: votes === 0 ? 'No votes yet' : `${votes} ${votes === 1 ? 'vote' : 'votes'}`,
  };
}

type Selectable = Pick<Poll, 'id' | 'status' | 'createdAt' | 'openedAt' | 'closedAt'>;

/**
 * The poll the room is looking at: the open poll opened last; when none is open, the poll closed last (its final
 * results stay up until the next poll opens). Drafts never.
 * @example currentPoll(polls)?.question
 */
export function currentPoll<P extends Selectable>(polls: readonly P[]): P | undefined {
  const latest = (list: P[], at: (p: P) => number) => list.reduce<P | undefined>((best, p) => (!best || at(p) > at(best) || (at(p) === at(best) && p.id > best.id) ? p : best), undefined);
  const open = polls.filter((p) => p.status === 'open');
  if (open.length > 0) return latest(open, (p) => p.openedAt ?? p.createdAt);
  return latest(polls.filter((p) => p.status === 'closed'), (p) => p.closedAt ?? p.createdAt);
}

/** Open polls, newest first: what the audience can vote in now. */
export function openPolls<P extends Selectable>(polls: readonly P[]): P[] {
  return polls.filter((p) => p.status === 'open').sort((a, b) => (b.openedAt ?? b.createdAt) - (a.openedAt ?? a.createdAt));
}
