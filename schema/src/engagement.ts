import { z } from 'zod';
import { Id } from './claims.ts';

/**
 * Audience engagement (issue 5): live polls, moderated Q&A and chat. The entities as the hub publishes and serves
 * them, the `data` of `msg` frames on their topics, the REST state bodies, and the stated limits.
 *
 * Clients fetch state over REST (each body carries the topic's `seq` read *before* the state), subscribe with
 * `since` = that `seq`, and apply messages as upserts: a message already reflected in the state is harmless to
 * apply again. After a `reset`, do the same again.
 */

/** Stated limits; the hub enforces exactly these, and pages can size counters and inputs on them. */
export const engagementLimits = Object.freeze({
  pollQuestionChars: 300,
  pollOptionChars: 120,
  pollMinOptions: 2,
  pollMaxOptions: 20,
  /** a word-cloud entry, after normalisation (NFKC, trimmed, inner whitespace collapsed, lower case) */
  wordChars: 40,
  /** entries one attendee may submit to one word-cloud poll (the poll's `maxWords`, default 1) */
  maxWordsPerVote: 5,
  /** distinct word-cloud entries carried in results (the most frequent; `distinctWords` counts them all) */
  wordCloudTop: 100,
  /** live results of one poll are published at most once per this many ms, across all hub processes */
  resultsIntervalMs: 200,
  questionChars: 300,
  nameChars: 60,
  chatChars: 500,
  /** per user and event, across hub processes: a burst of `burst`, then one per `intervalMs` */
  chatRate: { burst: 5, intervalMs: 1000 },
  questionRate: { burst: 3, intervalMs: 20_000 },
  restrictedWords: 500,
  restrictedWordChars: 64,
  /** mute durations, seconds */
  muteMinSeconds: 1,
  muteMaxSeconds: 7 * 24 * 3600,
  /** chat history: messages per REST page */
  chatPage: 200,
});

/**
 * The form a word-cloud entry is counted in: Unicode NFKC, trimmed, runs of whitespace as one space, lower case.
 * @example normalizeWord('  Machine   LEARNING ') // 'machine learning'
 */
export function normalizeWord(raw: string): string {
  return raw.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
}

/** A display name as an attendee types it: trimmed, bounded. */
export const DisplayName = z.string().trim().min(1).max(engagementLimits.nameChars);
const Millis = z.number().int();

// ---------------------------------------------------------------------------------------------------------------- polls

export const PollKind = z.enum(['single', 'multiple', 'rating', 'wordcloud']);
export type PollKind = z.infer<typeof PollKind>;
/** `draft` polls are seen by moderators only; `closed` is final. */
export const PollStatus = z.enum(['draft', 'open', 'closed']);
export type PollStatus = z.infer<typeof PollStatus>;

export const PollOption = z.object({ id: z.string(), label: z.string() });
export type PollOption = z.infer<typeof PollOption>;

/** Exact tallies, read from the Store. */
export const PollResults = z.object({
  /** attendees who voted */
  votes: z.number().int(),
  /** choice polls: every option id → votes; rating polls: "1".."5" → votes; word clouds: {} */
  counts: z.record(z.string(), z.number().int()),
  /** rating polls: the mean rating (null before the first vote); others: null */
  average: z.number().nullable(),
  /** word clouds: the most frequent entries, by count then text; others: [] */
  words: z.array(z.object({ text: z.string(), count: z.number().int() })),
  /** word clouds: how many distinct entries there are; others: 0 */
  distinctWords: z.number().int(),
});
export type PollResults = z.infer<typeof PollResults>;

export const Poll = z.object({
  id: Id,
  event: Id,
  /** the session the poll belongs to, or null for an event-wide poll */
  session: Id.nullable(),
  kind: PollKind,
  question: z.string(),
  /** choice polls: the options, ids "1".."n" in the order given; others: [] */
  options: z.array(PollOption),
  /** multiple choice: how many options one vote may pick */
  maxChoices: z.number().int().nullable(),
  /** word cloud: how many entries one vote may carry */
  maxWords: z.number().int().nullable(),
  /** may attendees change their vote while the poll is open */
  allowChange: z.boolean(),
  status: PollStatus,
  createdAt: Millis,
  openedAt: Millis.nullable(),
  closedAt: Millis.nullable(),
  /** live while open; final (stored at close) once closed */
  results: PollResults,
});
export type Poll = z.infer<typeof Poll>;

/**
 * `event/{e}/polls`: `poll` when a poll opens, closes (with its final results) or changes its settings;
 * `results` with live tallies, coalesced (at most one per poll every `resultsIntervalMs` across all hubs).
 * Drafts are never published: attendees subscribe to this topic too. Results messages of a poll arrive in the order
 * their tallies were read, so the latest message is the freshest tally.
 */
export const PollsMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('poll'), poll: Poll }),
  z.object({ type: z.literal('results'), poll: Id, session: Id.nullable(), results: PollResults, at: Millis }),
]);
export type PollsMessage = z.infer<typeof PollsMessage>;

/** `GET /api/v1/events/{e}/polls`; `myVote` is the caller's answers (option ids, the rating, or entries) or null. */
export const PollsState = z.object({
  /** head of `event/{e}/polls` read before the state: subscribe with `since` = this */
  seq: z.number().int(),
  polls: z.array(Poll.extend({ myVote: z.array(z.string()).nullable() })),
});
export type PollsState = z.infer<typeof PollsState>;

// ------------------------------------------------------------------------------------------------------------------ Q&A

/** `pre`: questions wait for a moderator; `post`: they appear at once and moderators remove what must go. */
export const QaModeration = z.enum(['pre', 'post']);
export const QaSettings = z.object({ moderation: QaModeration, open: z.boolean() });
export type QaSettings = z.infer<typeof QaSettings>;
/** A session nobody has configured: pre-moderated (nothing reaches the room unseen) and open. */
export const defaultQaSettings: QaSettings = Object.freeze({ moderation: 'pre', open: true });

export const QuestionStatus = z.enum(['pending', 'approved', 'rejected']);
export type QuestionStatus = z.infer<typeof QuestionStatus>;

export const Question = z.object({
  id: z.string(),
  session: Id,
  text: z.string(),
  /** the asker's display name; null when anonymous or not given (the asker's identity is never published) */
  name: z.string().nullable(),
  /** attendees only ever receive `approved` */
  status: QuestionStatus,
  pinned: z.boolean(),
  answered: z.boolean(),
  /** never decreases */
  upvotes: z.number().int(),
  /** a moderator changed the text */
  edited: z.boolean(),
  createdAt: Millis,
});
export type Question = z.infer<typeof Question>;

/** What moderators see besides: whether the word filter flagged it, and the text as asked when it was edited. */
export const ModQuestion = Question.extend({ flagged: z.boolean(), originalText: z.string().nullable() });
export type ModQuestion = z.infer<typeof ModQuestion>;

/**
 * `event/{e}/qa/{session}` (attendees): approved questions only. `question` is an upsert (approved, edited, pinned,
 * answered); `removed` takes back a question that was approved and then rejected; `upvotes` carries new counts
 * (coalesced); `settings` when moderators change the session.
 */
export const QaMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('question'), question: Question }),
  z.object({ type: z.literal('removed'), id: z.string() }),
  z.object({ type: z.literal('upvotes'), counts: z.record(z.string(), z.number().int()), at: Millis }),
  z.object({ type: z.literal('settings'), session: Id, settings: QaSettings }),
]);
export type QaMessage = z.infer<typeof QaMessage>;

/** `event/{e}/qa/{session}/mod` (moderators): every question in every state, as an upsert; settings. */
export const QaModMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('question'), question: ModQuestion }),
  z.object({ type: z.literal('settings'), session: Id, settings: QaSettings }),
]);
export type QaModMessage = z.infer<typeof QaModMessage>;

/**
 * `GET /api/v1/events/{e}/qa/{session}`. Attendees get approved questions with `seq`; moderators get every status
 * they asked for (`?status=`), with `ModQuestion` fields and `modSeq` as well. `upvoted`: the caller upvoted it.
 */
export const QaState = z.object({
  session: Id,
  settings: QaSettings,
  seq: z.number().int(),
  modSeq: z.number().int().optional(),
  order: z.enum(['votes', 'recent']),
  questions: z.array(ModQuestion.partial({ flagged: true, originalText: true }).extend({ upvoted: z.boolean() })),
});
export type QaState = z.infer<typeof QaState>;

// ----------------------------------------------------------------------------------------------------------------- chat

/** What happens to a message that trips the word filter: `mask` publishes it with the words starred out, `hold` sends it to moderators only. */
export const ChatFilterMode = z.enum(['mask', 'hold']);
export const ChatSettings = z.object({ filter: ChatFilterMode, open: z.boolean() });
export type ChatSettings = z.infer<typeof ChatSettings>;
export const defaultChatSettings: ChatSettings = Object.freeze({ filter: 'mask', open: true });

export const ChatMessageStatus = z.enum(['visible', 'held', 'deleted']);

export const ChatMessage = z.object({
  id: z.string(),
  room: Id,
  /** the sender's token `sub`: what moderators mute */
  author: z.string(),
  name: z.string().nullable(),
  /** as shown: with restricted words starred out when `masked` */
  text: z.string(),
  masked: z.boolean(),
  status: ChatMessageStatus,
  at: Millis,
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Moderators also see the text (and name) as sent, when the filter changed or held it. */
export const ModChatMessage = ChatMessage.extend({ original: z.string().nullable(), originalName: z.string().nullable() });
export type ModChatMessage = z.infer<typeof ModChatMessage>;

/** `event/{e}/chat/{room}`: messages, their removal, and room settings. */
export const ChatRoomMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), message: ChatMessage }),
  z.object({ type: z.literal('deleted'), id: z.string() }),
  z.object({ type: z.literal('settings'), room: Id, settings: ChatSettings }),
]);
export type ChatRoomMessage = z.infer<typeof ChatRoomMessage>;

/**
 * `event/{e}/chat/{room}/mod`: `held` (waits for review, attendees never see it), `flagged` (published masked; here as
 * sent), `approved` (a held message released to the room), `deleted`, `muted`/`unmuted` and `words` (when the
 * moderator's command named this room), `settings`.
 */
export const ChatModMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('held'), message: ModChatMessage }),
  z.object({ type: z.literal('flagged'), message: ModChatMessage }),
  z.object({ type: z.literal('approved'), message: ModChatMessage }),
  z.object({ type: z.literal('deleted'), id: z.string(), by: z.string() }),
  z.object({ type: z.literal('muted'), user: z.string(), until: Millis, by: z.string(), reason: z.string().nullable() }),
  z.object({ type: z.literal('unmuted'), user: z.string(), by: z.string() }),
  z.object({ type: z.literal('words'), words: z.array(z.string()), version: z.number().int() }),
  z.object({ type: z.literal('settings'), room: Id, settings: ChatSettings }),
]);
export type ChatModMessage = z.infer<typeof ChatModMessage>;

/**
 * `GET /api/v1/events/{e}/chat/{room}`: the latest visible messages, oldest first. Moderators also get the messages
 * waiting for review (`held`), the originals of masked messages, and `modSeq`.
 */
export const ChatState = z.object({
  room: Id,
  settings: ChatSettings,
  seq: z.number().int(),
  modSeq: z.number().int().optional(),
  messages: z.array(ModChatMessage.partial({ original: true, originalName: true })),
  held: z.array(ModChatMessage).optional(),
});
export type ChatState = z.infer<typeof ChatState>;

/** `GET /api/v1/events/{e}/moderation/words` */
export const WordList = z.object({ words: z.array(z.string()), version: z.number().int() });
export type WordList = z.infer<typeof WordList>;

export const Mute = z.object({ user: z.string(), until: Millis, reason: z.string().nullable(), by: z.string(), at: Millis });
export type Mute = z.infer<typeof Mute>;
/** `GET /api/v1/events/{e}/moderation/mutes`: mutes still running. */
export const MuteList = z.object({ mutes: z.array(Mute) });
