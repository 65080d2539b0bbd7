import { sql, type Kysely } from 'kysely';
import { engagementLimits, type Poll, type PollKind, type PollOption, type PollResults, type PollStatus } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { PollRow } from '@opshub/schema/db-engagement';

export interface NewPoll {
  event: string;
  id: string;
  session: string | null;
  kind: PollKind;
  question: string;
  options: PollOption[];
  maxChoices: number | null;
  maxWords: number | null;
  allowChange: boolean;
  status: 'draft' | 'open';
  createdBy: string;
}

/**
 * Stores a new poll; null when the event already has a poll with this id.
 * @example const row = await insertPoll(trx, { event: 'expo', id: 'p1', kind: 'rating', ... });
 */
export async function insertPoll(db: Kysely<Database>, poll: NewPoll): Promise<PollRow | null> {
  const row = await db
    .insertInto('polls')
    .values({
      event_id: poll.event,
      id: poll.id,
      session: poll.session,
      kind: poll.kind,
      question: poll.question,
      options: JSON.stringify(poll.options),
      max_choices: poll.maxChoices,
      max_words: poll.maxWords,
      allow_change: poll.allowChange,
      status: poll.status,
      created_by: poll.createdBy,
      opened_at: poll.status === 'open' ? sql<Date>`now()` : null,
    })
    .onConflict((oc) => oc.columns(['event_id', 'id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/** One poll row, or null; `forUpdate` locks it until the transaction ends. */
export async function getPollRow(db: Kysely<Database>, event: string, id: string, { forUpdate = false } = {}): Promise<PollRow | null> {
  let query = db.selectFrom('polls').selectAll().where('event_id', '=', event).where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  return (await query.executeTakeFirst()) ?? null;
}

/** The event's polls, oldest first; only those of `session` (and event-wide ones) when given. */
export async function listPollRows(
  db: Kysely<Database>,
  event: string,
  { session, statuses }: { session?: string | undefined; statuses: readonly PollStatus[] },
): Promise<PollRow[]> {
  let query = db.selectFrom('polls').selectAll().where('event_id', '=', event).where('status', 'in', [...statuses]);
  if (session !== undefined) query = query.where((eb) => eb.or([eb('session', '=', session), eb('session', 'is', null)]));
  return query.orderBy('created_at').orderBy('id').execute();
}

/** Opens a draft; null when the poll is not a draft (any more). */
export async function openPoll(db: Kysely<Database>, event: string, id: string): Promise<PollRow | null> {
  const row = await db
    .updateTable('polls')
    .set({ status: 'open', opened_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .where('status', '=', 'draft')
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/** Closes an open poll and stores its final results; null when it was not open. */
export async function closePoll(db: Kysely<Database>, event: string, id: string, results: PollResults): Promise<PollRow | null> {
  const row = await db
    .updateTable('polls')
    .set({ status: 'closed', closed_at: sql<Date>`now()`, results: JSON.stringify(results) })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .where('status', '=', 'open')
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

export async function setPollAllowChange(db: Kysely<Database>, event: string, id: string, allowChange: boolean): Promise<PollRow | null> {
  const row = await db
    .updateTable('polls')
    .set({ allow_change: allowChange })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

export type VoteOutcome =
  | { readonly kind: 'inserted' | 'changed' }
  /** the voter has voted and the poll does not allow changing a vote */
  | { readonly kind: 'refused' }
  /** nothing written: the poll is missing (`status` null), a draft or closed */
  | { readonly kind: 'not_open'; readonly status: PollStatus | null };

/**
 * Records a vote in one statement. The primary key (event, poll, voter) is the arbiter across hub processes: a second
 * vote is refused, or, when the poll allows changes, replaces the first.
 *
 * The vote reads the poll row `for key share`, which waits for a `poll.close` holding it `for update` and then
 * re-checks `status = 'open'` on the row as close left it: no vote lands after a close, and close (which takes the row
 * `for update` before tallying) sees every vote that got in. Key-share locks do not conflict with each other nor with
 * the updates that note when results were published, so votes never wait on one another.
 *
 * @example await castVote(db, { event: 'expo', poll: 'p1', voter: 'ana', answers: ['2'] }); // { kind: 'inserted' }
 */
export async function castVote(db: Kysely<Database>, vote: { event: string; poll: string; voter: string; answers: string[] }): Promise<VoteOutcome> {
  const { rows } = await sql<{ inserted: boolean }>`
    insert into poll_votes (event_id, poll_id, voter, answers)
    select p.event_id, p.id, ${vote.voter}, ${vote.answers}::text[]
    from polls p
    where p.event_id = ${vote.event} and p.id = ${vote.poll} and p.status = 'open'
    for key share
    on conflict (event_id, poll_id, voter) do update set answers = excluded.answers, voted_at = now()
      where (select allow_change from polls where event_id = ${vote.event} and id = ${vote.poll})
    returning (xmax = 0) as inserted
  `.execute(db);
  // xmax is 0 on a freshly inserted row version and non-zero on one written by the conflict's update.
  if (rows[0]) return { kind: rows[0].inserted ? 'inserted' : 'changed' };
  // Nothing written (the rare path): say why.
  const poll = await db.selectFrom('polls').select('status').where('event_id', '=', vote.event).where('id', '=', vote.poll).executeTakeFirst();
  if (poll?.status !== 'open') return { kind: 'not_open', status: poll?.status ?? null };
  return { kind: 'refused' };
}

/**
 * The exact tallies of a poll, read in one statement (one snapshot: `votes` and `counts` always agree).
 * @example const results = await tallyPoll(db, 'expo', { id: 'p1', kind: 'single', options }); // { votes: 3, counts: { '1': 2, '2': 1 }, ... }
 */
export async function tallyPoll(
  db: Kysely<Database>,
  event: string,
  poll: { id: string; kind: PollKind; options: readonly PollOption[] },
): Promise<PollResults> {
  const top = poll.kind === 'wordcloud' ? engagementLimits.wordCloudTop : null;
  // The scalar subquery runs once (it is uncorrelated) and inside the same statement, so in the same snapshot.
  const { rows } = await sql<{ answer: string; n: number; votes: number; distinct_answers: number }>`
    select a as answer, count(*)::int as n,
      (select count(*)::int from poll_votes where event_id = ${event} and poll_id = ${poll.id}) as votes,
      (count(*) over ())::int as distinct_answers
    from poll_votes cross join unnest(answers) as a
    where event_id = ${event} and poll_id = ${poll.id}
    group by a
    order by n desc, a collate "C"
    limit ${top ?? null}
  `.execute(db);
  const results = emptyResults(poll.kind, poll.options);
  results.votes = rows[0]?.votes ?? 0;
  if (poll.kind === 'wordcloud') {
    results.words = rows.map((r) => ({ text: r.answer, count: r.n }));
    results.distinctWords = rows[0]?.distinct_answers ?? 0;
    return results;
  }
  for (const r of rows) if (r.answer in results.counts) results.counts[r.answer] = r.n;
  if (poll.kind === 'rating' && results.votes > 0) {
    const sum = Object.entries(results.counts).reduce((s, [rating, n]) => s + Number(rating) * n, 0);
    results.average = sum / results.votes;
  }
  return results;
}

/** Results with no votes: every option (or rating 1–5) present with 0. */
export function emptyResults(kind: PollKind, options: readonly PollOption[]): PollResults {
  const keys = kind === 'rating' ? ['1', '2', '3', '4', '5'] : kind === 'wordcloud' ? [] : options.map((o) => o.id);
  return { votes: 0, counts: Object.fromEntries(keys.map((k) => [k, 0])), average: null, words: [], distinctWords: 0 };
}

/**
 * Under the results lock: the poll's state for publishing, and how many ms ago any hub last published its results
 * (null when never), by the database clock so that every hub measures the same interval.
 */
export async function pollPublishState(
  db: Kysely<Database>,
  event: string,
  id: string,
): Promise<{ row: PollRow; sinceLastMs: number | null } | null> {
  const row = await db
    .selectFrom('polls')
    .selectAll()
    .select(sql<number | null>`(extract(epoch from (clock_timestamp() - results_published_at)) * 1000)::float8`.as('since_last_ms'))
    .where('event_id', '=', event)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  const { since_last_ms, ...poll } = row;
  return { row: poll, sinceLastMs: since_last_ms === null ? null : Number(since_last_ms) };
}

export async function markResultsPublished(db: Kysely<Database>, event: string, id: string): Promise<void> {
  await db
    .updateTable('polls')
    .set({ results_published_at: sql<Date>`clock_timestamp()` })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .execute();
}

/** The voter's answers per poll, for the polls given. */
export async function votesOf(db: Kysely<Database>, event: string, voter: string, polls: readonly string[]): Promise<Map<string, string[]>> {
  if (polls.length === 0) return new Map();
  const rows = await db
    .selectFrom('poll_votes')
    .select(['poll_id', 'answers'])
    .where('event_id', '=', event)
    .where('voter', '=', voter)
    .where('poll_id', 'in', [...polls])
    .execute();
  return new Map(rows.map((r) => [r.poll_id, r.answers]));
}

/** The poll as published: `results` are the given live tallies, or the stored final ones once closed. */
export function toPoll(row: PollRow, liveResults?: PollResults): Poll {
  const options = row.options as PollOption[];
  return {
    id: row.id,
    event: row.event_id,
    session: row.session,
    kind: row.kind,
    question: row.question,
    options,
    maxChoices: row.max_choices,
    maxWords: row.max_words,
    allowChange: row.allow_change,
    status: row.status,
    createdAt: row.created_at.getTime(),
    openedAt: row.opened_at?.getTime() ?? null,
    closedAt: row.closed_at?.getTime() ?? null,
    results: row.status === 'closed' && row.results ? (row.results as PollResults) : (liveResults ?? emptyResults(row.kind, options)),
  };
}
