import { z } from 'zod';
import { Id } from '../claims.ts';
import { engagementLimits as limits, Poll, PollKind } from '../engagement.ts';
import type { CommandSpec } from './command-spec.ts';

const EventPoll = { event: Id, poll: Id };

export const PollCreateArgs = z
  .strictObject({
    event: Id,
    /** optional: a client-chosen id makes a retried create answer `conflict` instead of creating twice */
    id: Id.optional(),
    /** the session the poll belongs to (the audience page of that session shows it); omit for event-wide */
    session: Id.optional(),
    kind: PollKind,
    question: z.string().trim().min(1).max(limits.pollQuestionChars),
    /** single and multiple choice only: the labels, in order (their ids become "1".."n") */
    options: z.array(z.string().trim().min(1).max(limits.pollOptionChars)).max(limits.pollMaxOptions).optional(),
    /** multiple choice only: most options one vote may pick (default: all) */
    maxChoices: z.number().int().min(1).max(limits.pollMaxOptions).optional(),
    /** word cloud only: entries one vote may carry (default 1) */
    maxWords: z.number().int().min(1).max(limits.maxWordsPerVote).optional(),
    /** may an attendee change their vote while the poll is open (default false: the first vote is final) */
    allowChange: z.boolean().default(false),
    /** open at once instead of creating a draft */
    open: z.boolean().default(false),
  })
  .superRefine((args, ctx) => {
    const choice = args.kind === 'single' || args.kind === 'multiple';
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (choice) {
      const options = args.options ?? [];
      if (options.length < limits.pollMinOptions) issue('options', `a ${args.kind} choice poll needs ${limits.pollMinOptions} to ${limits.pollMaxOptions} options`);
      if (new Set(options.map((o) => o.toLowerCase())).size !== options.length) issue('options', 'options must differ');
    } else if (args.options !== undefined) {
      issue('options', `a ${args.kind} poll has no options`);
    }
    if (args.maxChoices !== undefined) {
      if (args.kind !== 'multiple') issue('maxChoices', 'only multiple choice polls take maxChoices');
      else if (args.maxChoices > (args.options?.length ?? 0)) issue('maxChoices', 'maxChoices exceeds the number of options');
    }
    if (args.maxWords !== undefined && args.kind !== 'wordcloud') issue('maxWords', 'only word clouds take maxWords');
  });

export const PollVoteArgs = z
  .strictObject({
    ...EventPoll,
    /** single choice: exactly one option id; multiple choice: 1 to maxChoices distinct option ids */
    options: z.array(z.string().min(1).max(8)).min(1).max(limits.pollMaxOptions).optional(),
    /** rating polls: 1 to 5 */
    rating: z.number().int().min(1).max(5).optional(),
    /** word clouds: 1 to maxWords entries, each at most `wordChars` characters once normalised */
    words: z.array(z.string().max(200)).min(1).max(limits.maxWordsPerVote).optional(),
  })
  .refine((a) => [a.options, a.rating, a.words].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of options, rating, words',
  });

/** Polls: moderators create, open and close them; attendees vote once (or change it, when the poll allows). */
export const pollCommands = {
  'poll.create': {
    summary:
      'Create a poll (single or multiple choice, rating 1–5, word cloud) as a draft, or open it at once with `open: true`. ' +
      'Drafts are not published (attendees share the topic); an opened poll is published as a `poll` message. Audited.',
    args: PollCreateArgs,
    result: Poll,
    topic: 'event/{event}/polls',
    publishesSometimes: true,
  },
  'poll.open': {
    summary: 'Open a draft poll for voting; publishes it as a `poll` message. Audited.',
    args: z.strictObject(EventPoll),
    result: Poll,
    topic: 'event/{event}/polls',
  },
  'poll.close': {
    summary:
      'Close an open poll. Votes in flight are waited for, the final results are stored and published in a `poll` message; ' +
      'a closed poll never changes again and refuses votes (`conflict`). Audited.',
    args: z.strictObject(EventPoll),
    result: Poll,
    topic: 'event/{event}/polls',
  },
  'poll.settings': {
    summary: 'Allow or forbid changing a vote while the poll is open; publishes the poll when it is not a draft. Audited.',
    args: z.strictObject({ ...EventPoll, allowChange: z.boolean() }),
    result: Poll,
    topic: 'event/{event}/polls',
  },
  'poll.vote': {
    summary:
      'Vote in an open poll: one vote per attendee per poll, enforced by the database across hub processes. A second vote is ' +
      '`conflict` unless the poll allows changes, when it replaces the first. Word-cloud entries are normalised (NFKC, trimmed, ' +
      'whitespace collapsed, lower case) and refused (`invalid`) when they trip the word filter. Results are published coalesced.',
    args: PollVoteArgs,
    result: z.object({
      poll: Id,
      /** the answers as counted: option ids, the rating as a string, or normalised entries */
      answers: z.array(z.string()),
      /** true when this replaced an earlier vote */
      changed: z.boolean(),
    }),
    topic: 'event/{event}/polls',
  },
} as const satisfies Record<string, CommandSpec>;
