import type { SqlMigration } from './sql-migration.ts';

/**
 * Audience engagement: polls and their votes, Q&A sessions, questions and upvotes, chat rooms, messages, the event's
 * restricted word list, mutes, and the per-user rate limiter shared by chat and Q&A. Row types: `schema/src/db-engagement.ts`.
 *
 * The unique keys are the arbiters across hub processes: one vote per attendee per poll, one upvote per attendee per
 * question, one pinned question per session, one mute per user per event.
 */
export const engagement: SqlMigration = {
  up: [
    // options: [{"id","label"}]; results: the final tallies, written once when the poll closes.
    // results_published_at: when any hub last published live results, so hubs together keep to one message per interval.
    `create table polls (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      session text,
      kind text not null check (kind in ('single', 'multiple', 'rating', 'wordcloud')),
      question text not null,
      options jsonb not null default '[]',
      max_choices integer,
      max_words integer,
      allow_change boolean not null default false,
      status text not null default 'draft' check (status in ('draft', 'open', 'closed')),
      created_by text not null,
      created_at timestamptz not null default now(),
      opened_at timestamptz,
      closed_at timestamptz,
      results jsonb,
      results_published_at timestamptz,
      primary key (event_id, id)
    )`,
    `create index polls_event_session_idx on polls (event_id, session, created_at)`,
    // answers: option ids, the rating as text, or normalised word-cloud entries; tallies unnest them.
    // No foreign key to polls: it would take a KEY SHARE lock on the one hot poll row for every vote. Votes are only
    // written after reading the poll under its advisory lock, and polls are never deleted on their own.
    `create table poll_votes (
      event_id text not null,
      poll_id text not null,
      voter text not null,
      answers text[] not null,
      voted_at timestamptz not null default now(),
      primary key (event_id, poll_id, voter)
    )`,
    `create table qa_sessions (
      event_id text not null references events (id) on delete cascade,
      session text not null,
      moderation text not null default 'pre' check (moderation in ('pre', 'post')),
      open boolean not null default true,
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (event_id, session)
    )`,
    // author is kept for abuse handling and never published; name is null when the question is anonymous.
    `create table qa_questions (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      session text not null,
      text text not null,
      original_text text,
      author text not null,
      name text,
      status text not null check (status in ('pending', 'approved', 'rejected')),
      flagged boolean not null default false,
      pinned boolean not null default false,
      answered boolean not null default false,
      upvotes integer not null default 0 check (upvotes >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (event_id, id)
    )`,
    `create index qa_questions_session_idx on qa_questions (event_id, session, status, created_at)`,
    `create unique index qa_questions_one_pin_idx on qa_questions (event_id, session) where pinned`,
    `create table qa_upvotes (
      event_id text not null,
      question_id text not null,
      voter text not null,
      at timestamptz not null default now(),
      primary key (event_id, question_id, voter)
    )`,
    `create table chat_rooms (
      event_id text not null references events (id) on delete cascade,
      room text not null,
      filter text not null default 'mask' check (filter in ('mask', 'hold')),
      open boolean not null default true,
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (event_id, room)
    )`,
    // text is what the room sees (masked when the filter tripped); original and original_name keep what was sent.
    `create table chat_messages (
      event_id text not null references events (id) on delete cascade,
      id text not null,
      room text not null,
      author text not null,
      name text,
      text text not null,
      original text,
      original_name text,
      masked boolean not null default false,
      status text not null check (status in ('visible', 'held', 'deleted')),
      created_at timestamptz not null default now(),
      moderated_by text,
      moderated_at timestamptz,
      primary key (event_id, id)
    )`,
    `create index chat_messages_room_idx on chat_messages (event_id, room, created_at)`,
    // One row per event: the version lets every hub keep a compiled filter and notice a change with one key lookup.
    `create table chat_word_lists (
      event_id text primary key references events (id) on delete cascade,
      words text[] not null default '{}',
      version integer not null default 0,
      updated_by text not null,
      updated_at timestamptz not null default now()
    )`,
    `create table chat_mutes (
      event_id text not null references events (id) on delete cascade,
      user_id text not null,
      until timestamptz not null,
      reason text,
      muted_by text not null,
      muted_at timestamptz not null default now(),
      primary key (event_id, user_id)
    )`,
    // GCRA state: tat_ms is the "theoretical arrival time" in ms of the database clock. One row per user and bucket;
    // a single upsert both checks and takes a token, so hub processes share one exact limit.
    `create table rate_limits (
      event_id text not null,
      bucket text not null,
      user_id text not null,
      tat_ms bigint not null,
      primary key (event_id, bucket, user_id)
    )`,
  ],
  down: [
    'drop table rate_limits',
    'drop table chat_mutes',
    'drop table chat_word_lists',
    'drop table chat_messages',
    'drop table chat_rooms',
    'drop table qa_upvotes',
    'drop table qa_questions',
    'drop table qa_sessions',
    'drop table poll_votes',
    'drop table polls',
  ],
};
