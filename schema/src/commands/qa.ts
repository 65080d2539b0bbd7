import { z } from 'zod';
import { Id } from '../claims.ts';
import { DisplayName, engagementLimits as limits, ModQuestion, QaModeration, QaSettings, QuestionStatus } from '../engagement.ts';
import type { CommandSpec } from './command-spec.ts';

const QuestionText = z.string().trim().min(1).max(limits.questionChars);
const EventQuestion = { event: Id, id: z.string().min(1).max(64) };
const modTopics = 'event/{event}/qa/{session}/mod (and event/{event}/qa/{session} when the question is visible to attendees)';

/** Q&A per session: attendees ask and upvote; moderators approve, reject, edit, pin and mark answered. */
export const qaCommands = {
  'qa.ask': {
    summary:
      'Ask a question in a session. Pre-moderated sessions (the default) queue it for moderators; post-moderated ones publish it ' +
      'at once, unless it trips the word filter, which queues it. `anonymous` publishes no name. Rate limited per user ' +
      `(${limits.questionRate.burst} at once, then one per ${limits.questionRate.intervalMs / 1000} s). Recorded in analytics.`,
    args: z.strictObject({
      event: Id,
      session: Id,
      text: QuestionText,
      anonymous: z.boolean().default(false),
      /** shown with the question unless anonymous */
      name: DisplayName.optional(),
    }),
    result: z.object({ id: z.string(), status: QuestionStatus, question: ModQuestion }),
    topic: modTopics,
  },
  'qa.upvote': {
    summary:
      'Upvote an approved question: one upvote per attendee per question (a repeat answers `counted: false`). ' +
      'New counts are published coalesced as `upvotes` messages. Recorded in analytics.',
    args: z.strictObject(EventQuestion),
    result: z.object({ id: z.string(), upvotes: z.number().int(), counted: z.boolean() }),
    topic: 'event/{event}/qa/{session}',
  },
  'qa.approve': {
    summary: 'Approve a pending (or earlier rejected) question: attendees receive it from now on. Audited.',
    args: z.strictObject(EventQuestion),
    result: ModQuestion,
    topic: modTopics,
  },
  'qa.reject': {
    summary: 'Reject a question. A pending one is never shown to attendees; an approved one is taken back (`removed`). Audited.',
    args: z.strictObject(EventQuestion),
    result: ModQuestion,
    topic: modTopics,
  },
  'qa.edit': {
    summary: 'Change the text of a pending or approved question (e.g. before approving it); moderators keep seeing the original. Audited.',
    args: z.strictObject({ ...EventQuestion, text: QuestionText }),
    result: ModQuestion,
    topic: modTopics,
  },
  'qa.pin': {
    summary: 'Pin an approved question (the one the projector shows; pinning another unpins it) or unpin it. Audited.',
    args: z.strictObject({ ...EventQuestion, pinned: z.boolean().default(true) }),
    result: ModQuestion,
    topic: modTopics,
  },
  'qa.answer': {
    summary: 'Mark an approved question answered (which also unpins it), or not answered. Audited.',
    args: z.strictObject({ ...EventQuestion, answered: z.boolean().default(true) }),
    result: ModQuestion,
    topic: modTopics,
  },
  'qa.settings': {
    summary:
      'Set a session to pre- or post-moderated, and open or close it for questions. Questions already waiting stay waiting. ' +
      'Published as `settings` on both Q&A topics. Audited.',
    args: z.strictObject({ event: Id, session: Id, moderation: QaModeration.optional(), open: z.boolean().optional() }),
    result: QaSettings,
    topic: 'event/{event}/qa/{session} and event/{event}/qa/{session}/mod',
  },
} as const satisfies Record<string, CommandSpec>;
