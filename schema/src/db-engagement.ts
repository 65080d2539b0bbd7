/**
 * The engagement tables (polls, Q&A, chat) as kysely sees them; `migrations/0002-engagement.ts` creates exactly these.
 * `Database` in `db.ts` extends {@link EngagementTables}. Type-only kysely imports, as in `db.ts`.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CreatedAt, JsonColumn } from './db.ts';

type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** `bigint`: node-postgres reads it as a string, PGlite as a number; repositories normalise. */
type BigIntColumn = ColumnType<string | number, number, number>;

export interface PollsTable {
  event_id: string;
  id: string;
  session: string | null;
  kind: 'single' | 'multiple' | 'rating' | 'wordcloud';
  question: string;
  options: JsonColumn;
  max_choices: number | null;
  max_words: number | null;
  allow_change: Generated<boolean>;
  status: Generated<'draft' | 'open' | 'closed'>;
  created_by: string;
  created_at: CreatedAt;
  opened_at: NullableTime;
  closed_at: NullableTime;
  results: JsonColumn;
  results_published_at: NullableTime;
}

export interface PollVotesTable {
  event_id: string;
  poll_id: string;
  voter: string;
  answers: string[];
  voted_at: CreatedAt;
}

export interface QaSessionsTable {
  event_id: string;
  session: string;
  moderation: Generated<'pre' | 'post'>;
  open: Generated<boolean>;
  updated_by: string;
  updated_at: CreatedAt;
}

export interface QaQuestionsTable {
  event_id: string;
  id: string;
  session: string;
  text: string;
  original_text: string | null;
  author: string;
  name: string | null;
  status: 'pending' | 'approved' | 'rejected';
  flagged: Generated<boolean>;
  pinned: Generated<boolean>;
  answered: Generated<boolean>;
  upvotes: Generated<number>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface QaUpvotesTable {
  event_id: string;
  question_id: string;
  voter: string;
  at: CreatedAt;
}

export interface ChatRoomsTable {
  event_id: string;
  room: string;
  filter: Generated<'mask' | 'hold'>;
  open: Generated<boolean>;
  updated_by: string;
  updated_at: CreatedAt;
}

export interface ChatMessagesTable {
  event_id: string;
  id: string;
  room: string;
  author: string;
  name: string | null;
  text: string;
  original: string | null;
  original_name: string | null;
  masked: Generated<boolean>;
  status: 'visible' | 'held' | 'deleted';
  created_at: CreatedAt;
  moderated_by: string | null;
  moderated_at: NullableTime;
}

export interface ChatWordListsTable {
  event_id: string;
  words: string[];
  version: Generated<number>;
  updated_by: string;
  updated_at: CreatedAt;
}

export interface ChatMutesTable {
  event_id: string;
  user_id: string;
  until: ColumnType<Date, Date | string, Date | string>;
  reason: string | null;
  muted_by: string;
  muted_at: CreatedAt;
}

export interface RateLimitsTable {
  event_id: string;
  bucket: string;
  user_id: string;
  tat_ms: BigIntColumn;
}

export interface EngagementTables {
  polls: PollsTable;
  poll_votes: PollVotesTable;
  qa_sessions: QaSessionsTable;
  qa_questions: QaQuestionsTable;
  qa_upvotes: QaUpvotesTable;
  chat_rooms: ChatRoomsTable;
  chat_messages: ChatMessagesTable;
  chat_word_lists: ChatWordListsTable;
  chat_mutes: ChatMutesTable;
  rate_limits: RateLimitsTable;
}

export type PollRow = Selectable<PollsTable>;
export type QaQuestionRow = Selectable<QaQuestionsTable>;
export type ChatMessageRow = Selectable<ChatMessagesTable>;
