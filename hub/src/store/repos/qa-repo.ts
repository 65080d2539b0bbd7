import { sql, type Kysely } from 'kysely';
import { defaultQaSettings, type ModQuestion, type Question, type QaSettings, type QuestionStatus } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { QaQuestionRow } from '@opshub/schema/db-engagement';

/**
 * A session's Q&A settings; a session nobody configured has the defaults (pre-moderated, open).
 * @example const { moderation } = await getQaSettings(db, 'expo', 'keynote'); // 'pre'
 */
export async function getQaSettings(db: Kysely<Database>, event: string, session: string): Promise<QaSettings> {
  const row = await db
    .selectFrom('qa_sessions')
    .select(['moderation', 'open'])
    .where('event_id', '=', event)
    .where('session', '=', session)
    .executeTakeFirst();
  return row ? { moderation: row.moderation, open: row.open } : { ...defaultQaSettings };
}

/**
 * Changes what `patch` names and returns the settings before and after. Pass a transaction: the row is locked
 * between read and write, so two moderators changing different settings at once both win.
 */
export async function updateQaSettings(
  trx: Kysely<Database>,
  event: string,
  session: string,
  patch: Partial<QaSettings>,
  by: string,
): Promise<{ before: QaSettings; after: QaSettings }> {
  await trx
    .insertInto('qa_sessions')
    .values({ event_id: event, session, moderation: defaultQaSettings.moderation, open: defaultQaSettings.open, updated_by: by })
    .onConflict((oc) => oc.columns(['event_id', 'session']).doNothing())
    .execute();
  const row = await trx
    .selectFrom('qa_sessions')
    .select(['moderation', 'open'])
    .where('event_id', '=', event)
    .where('session', '=', session)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const before: QaSettings = { moderation: row.moderation, open: row.open };
  const after: QaSettings = { ...before, ...definedOnly(patch) };
  await trx
    .updateTable('qa_sessions')
    .set({ moderation: after.moderation, open: after.open, updated_by: by, updated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('session', '=', session)
    .execute();
  return { before, after };
}

export interface NewQuestion {
  event: string;
  id: string;
  session: string;
  text: string;
  author: string;
  name: string | null;
  status: QuestionStatus;
  flagged: boolean;
}

export async function insertQuestion(db: Kysely<Database>, q: NewQuestion): Promise<QaQuestionRow> {
  return db
    .insertInto('qa_questions')
    .values({ event_id: q.event, id: q.id, session: q.session, text: q.text, author: q.author, name: q.name, status: q.status, flagged: q.flagged })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The question, locked until the transaction ends (moderator changes are read-modify-write). */
export async function lockQuestion(db: Kysely<Database>, event: string, id: string): Promise<QaQuestionRow | null> {
  return (await db.selectFrom('qa_questions').selectAll().where('event_id', '=', event).where('id', '=', id).forUpdate().executeTakeFirst()) ?? null;
}

export type QuestionChange = Partial<Pick<QaQuestionRow, 'text' | 'original_text' | 'status' | 'pinned' | 'answered'>>;

export async function updateQuestion(db: Kysely<Database>, event: string, id: string, change: QuestionChange): Promise<QaQuestionRow> {
  return db
    .updateTable('qa_questions')
    .set({ ...change, updated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Unpins whatever else is pinned in the session; returns the questions it unpinned. */
export async function unpinOthers(db: Kysely<Database>, event: string, session: string, keep: string): Promise<QaQuestionRow[]> {
  return db
    .updateTable('qa_questions')
    .set({ pinned: false, updated_at: sql<Date>`now()` })
    .where('event_id', '=', event)
    .where('session', '=', session)
    .where('pinned', '=', true)
    .where('id', '!=', keep)
    .returningAll()
    .execute();
}

export type UpvoteOutcome = { counted: boolean; upvotes: number; session: string } | null;

/**
 * One upvote per voter per question: the primary key of `qa_upvotes` decides, across hub processes. Only approved
 * questions take upvotes; null when the question is not (or no longer) approved, and nothing is written then.
 * @example await addUpvote(trx, 'expo', 'q1', 'ana'); // { counted: true, upvotes: 4, session: 'keynote' }
 */
export async function addUpvote(trx: Kysely<Database>, event: string, id: string, voter: string): Promise<UpvoteOutcome> {
  if (!trx.isTransaction) throw new Error('addUpvote needs a transaction: a refused upvote must roll back its row');
  const inserted = await trx
    .insertInto('qa_upvotes')
    .values({ event_id: event, question_id: id, voter })
    .onConflict((oc) => oc.columns(['event_id', 'question_id', 'voter']).doNothing())
    .returning('voter')
    .executeTakeFirst();
  if (!inserted) {
    const row = await trx.selectFrom('qa_questions').select(['upvotes', 'session', 'status']).where('event_id', '=', event).where('id', '=', id).executeTakeFirst();
    return row && row.status === 'approved' ? { counted: false, upvotes: row.upvotes, session: row.session } : null;
  }
  const row = await trx
    .updateTable('qa_questions')
    .set((eb) => ({ upvotes: eb('upvotes', '+', 1) }))
    .where('event_id', '=', event)
    .where('id', '=', id)
    .where('status', '=', 'approved')
    .returning(['upvotes', 'session'])
    .executeTakeFirst();
  return row ? { counted: true, upvotes: row.upvotes, session: row.session } : null;
}

/** Current upvote counts of the approved questions among `ids`. */
export async function upvoteCounts(db: Kysely<Database>, event: string, ids: readonly string[]): Promise<Record<string, number>> {
  if (ids.length === 0) return {};
  const rows = await db
    .selectFrom('qa_questions')
    .select(['id', 'upvotes'])
    .where('event_id', '=', event)
    .where('id', 'in', [...ids])
    .where('status', '=', 'approved')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.id, r.upvotes]));
}

/**
 * A session's questions in the given states, by votes (most upvoted first, then oldest) or recency (newest first),
 * each with whether `voter` upvoted it.
 */
export async function listQuestions(
  db: Kysely<Database>,
  event: string,
  session: string,
  { statuses, order, voter, limit }: { statuses: readonly QuestionStatus[]; order: 'votes' | 'recent'; voter: string; limit: number },
): Promise<(QaQuestionRow & { upvoted: boolean })[]> {
  let query = db
    .selectFrom('qa_questions as q')
    .selectAll('q')
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('qa_upvotes as u')
            .select('u.voter')
            .whereRef('u.event_id', '=', 'q.event_id')
            .whereRef('u.question_id', '=', 'q.id')
            .where('u.voter', '=', voter),
        )
        .as('upvoted'),
    )
    .where('q.event_id', '=', event)
    .where('q.session', '=', session)
    .where('q.status', 'in', [...statuses]);
  // Question ids are time-ordered, so the id breaks a same-millisecond tie in the direction of the time order.
  query =
    order === 'votes'
      ? query.orderBy('q.upvotes', 'desc').orderBy('q.created_at', 'asc').orderBy('q.id', 'asc')
      : query.orderBy('q.created_at', 'desc').orderBy('q.id', 'desc');
  const rows = await query.limit(limit).execute();
  return rows.map((r) => ({ ...r, upvoted: Boolean(r.upvoted) }));
}

/** The question as attendees see it (never its author). */
export function toQuestion(row: QaQuestionRow): Question {
  return {
    id: row.id,
    session: row.session,
    text: row.text,
    name: row.name,
    status: row.status,
    pinned: row.pinned,
    answered: row.answered,
    upvotes: row.upvotes,
    edited: row.original_text !== null,
    createdAt: row.created_at.getTime(),
  };
}

/** The question as moderators see it: also whether the filter flagged it, and the text as asked when edited. */
export function toModQuestion(row: QaQuestionRow): ModQuestion {
  return { ...toQuestion(row), flagged: row.flagged, originalText: row.original_text };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
