import { engagementLimits, normalizeWord, type CommandArgs, type PollKind, type PollOption } from '@opshub/schema';
import { ClientError } from '../../errors.ts';

/** The parts of a poll that decide whether a vote is well formed; fixed when the poll is created. */
export interface PollShape {
  readonly kind: PollKind;
  readonly options: readonly PollOption[];
  readonly maxChoices: number | null;
  readonly maxWords: number | null;
}

const howToVote: Record<PollKind, string> = {
  single: 'this is a single choice poll: vote with `options` (one option id)',
  multiple: 'this is a multiple choice poll: vote with `options` (option ids)',
  rating: 'this is a rating poll: vote with `rating` (1 to 5)',
  wordcloud: 'this is a word cloud: vote with `words`',
};

/**
 * The answers a vote counts as, as stored: option ids in the poll's order, the rating as text, or normalised entries.
 * @throws {ClientError} `invalid` when the vote does not fit the poll
 * @example answersFor({ kind: 'wordcloud', options: [], maxChoices: null, maxWords: 2 }, { words: [' Fast ', 'FAST'] }) // ['fast']
 */
export function answersFor(poll: PollShape, vote: Pick<CommandArgs<'poll.vote'>, 'options' | 'rating' | 'words'>): string[] {
  const wrong = () => new ClientError('invalid', howToVote[poll.kind]);
  switch (poll.kind) {
    case 'single':
    case 'multiple': {
      if (!vote.options) throw wrong();
      const chosen = new Set(vote.options);
      const unknown = [...chosen].filter((id) => !poll.options.some((o) => o.id === id));
      if (unknown.length > 0) throw new ClientError('invalid', `unknown option ${unknown.map((u) => `"${u}"`).join(', ')}`);
      const max = poll.kind === 'single' ? 1 : (poll.maxChoices ?? poll.options.length);
      if (chosen.size !== vote.options.length) throw new ClientError('invalid', 'an option may be chosen once');
      if (chosen.size > max) throw new ClientError('invalid', poll.kind === 'single' ? 'choose exactly one option' : `choose at most ${max} options`);
      return poll.options.filter((o) => chosen.has(o.id)).map((o) => o.id);
    }
    case 'rating':
      if (vote.rating === undefined) throw wrong();
      return [String(vote.rating)];
    case 'wordcloud': {
      if (!vote.words) throw wrong();
      const max = poll.maxWords ?? 1;
      const words = [...new Set(vote.words.map(normalizeWord))];
      if (words.some((w) => w.length === 0)) throw new ClientError('invalid', 'an entry is empty');
      const long = words.find((w) => w.length > engagementLimits.wordChars);
      if (long !== undefined) throw new ClientError('invalid', `entries are at most ${engagementLimits.wordChars} characters`);
      if (words.length > max) throw new ClientError('invalid', `at most ${max} ${max === 1 ? 'entry' : 'entries'} per vote`);
      return words;
    }
  }
}
