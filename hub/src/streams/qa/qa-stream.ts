import { engagementLimits, topicName, type ModQuestion, type QaMessage, type QaModMessage } from '@opshub/schema';
import type { QaQuestionRow } from '@opshub/schema/db-engagement';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import type { Bus } from '../../bus/bus.ts';
import type { CommandContext, CommandHandler } from '../../commands/command-router.ts';
import { ClientError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { NotFoundError } from '../../store/errors.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import { takeRateToken } from '../../store/repos/chat-repo.ts';
import { eventExists } from '../../store/repos/events-repo.ts';
import { advisoryXactLock, lockSpace } from '../../store/repos/locks.ts';
import {
  addUpvote,
  getQaSettings,
  insertQuestion,
  lockQuestion,
  toModQuestion,
  toQuestion,
  unpinOthers,
  updateQaSettings,
  updateQuestion,
  upvoteCounts,
  type QuestionChange,
} from '../../store/repos/qa-repo.ts';
import type { Store } from '../../store/store.ts';
import type { EventWordFilters } from '../chat/event-word-filters.ts';
import { Coalescer, type FlushOutcome } from '../polls/coalescer.ts';
import { timeOrderedId } from '../../store/ids/time-ordered-id.ts';

export interface QaStreamDeps {
  readonly bus: Bus;
  readonly store: Store;
  readonly log: Logger;
  readonly filters: EventWordFilters;
  /** upvote counts of a session are published at most this often per hub (default 200 ms) */
  readonly upvotesIntervalMs?: number;
  /** told when a question is marked answered, once that is stored (web push tells the asker) */
  readonly onAnswered?: (event: string, question: QaQuestionRow) => void;
}

/**
 * Moderated Q&A per session. Attendees' topic `event/{e}/qa/{s}` only ever carries approved questions: a question is
 * published there when it becomes approved (at once in post-moderated sessions), and taken back with `removed` when
 * an approved one is rejected. Moderators' topic `.../mod` carries every question in every state.
 *
 * Every moderator change is read-modify-write under the question's row lock, audited in the same transaction, and
 * published inside it (as announcements are): if the bus refuses, nothing changed.
 */
export function qaStream(deps: QaStreamDeps) {
  const { bus, store, log } = deps;
  const publicTopic = (event: string, session: string) => topicName({ kind: 'qa', event, session });
  const modTopic = (event: string, session: string) => topicName({ kind: 'qa.mod', event, session });
  const toAttendees = (event: string, session: string, m: QaMessage) => bus.publish(publicTopic(event, session), m);
  const toModerators = (event: string, session: string, m: QaModMessage) => bus.publish(modTopic(event, session), m);

  const upvotes = new Coalescer<string>({
    intervalMs: deps.upvotesIntervalMs ?? engagementLimits.resultsIntervalMs,
    onError: (err, key) => log.warn({ err, session: key }, 'upvote counts not published; retrying'),
    flush: async (key, ids): Promise<FlushOutcome> => {
      const slash = key.indexOf('/');
      const [event, session] = [key.slice(0, slash), key.slice(slash + 1)];
      await store.db.transaction().execute(async (trx) => {
        // Hubs take turns, so counts reach the topic in the order they were read: a later message never shows fewer.
        await advisoryXactLock(trx, lockSpace.qaUpvotes, key, 'exclusive');
        const counts = await upvoteCounts(trx, event, [...ids]);
        if (Object.keys(counts).length > 0) await toAttendees(event, session, { type: 'upvotes', counts, at: Date.now() });
      });
      return undefined;
    },
  });

  /** Publishes a question's new state: always to moderators; to attendees as it is visible (or was, for `removed`). */
  async function announce(event: string, before: QaQuestionRow | null, after: QaQuestionRow): Promise<void> {
    await toModerators(event, after.session, { type: 'question', question: toModQuestion(after) });
    if (after.status === 'approved') await toAttendees(event, after.session, { type: 'question', question: toQuestion(after) });
    else if (before?.status === 'approved') await toAttendees(event, after.session, { type: 'removed', id: after.id });
  }

  /**
   * The shared shape of every moderator action on one question: lock it, decide the change (or throw), write it, unpin
   * others when pinning, audit, publish.
   */
  function moderate<N extends 'qa.approve' | 'qa.reject' | 'qa.edit' | 'qa.pin' | 'qa.answer'>(
    action: N,
    decide: (row: QaQuestionRow, args: Parameters<CommandHandler<N>>[0]) => QuestionChange | null,
    /** called once the change is committed */
    changed?: (event: string, before: QaQuestionRow, after: QaQuestionRow) => void,
  ): CommandHandler<N> {
    const handler = async (args: Parameters<CommandHandler<N>>[0], { claims }: CommandContext): Promise<ModQuestion> => {
      let committed: [QaQuestionRow, QaQuestionRow] | undefined;
      const result = await store.db.transaction().execute(async (trx) => {
        const before = await lockQuestion(trx, args.event, args.id);
        if (!before) throw new NotFoundError('question', args.id);
        const change = decide(before, args);
        if (change === null) return toModQuestion(before); // already so: nothing to write, publish or audit
        if (change.pinned === true) {
          await advisoryXactLock(trx, lockSpace.qaPin, `${args.event}/${before.session}`, 'exclusive');
          for (const unpinned of await unpinOthers(trx, args.event, before.session, before.id)) await announce(args.event, unpinned, unpinned);
        }
        const after = await updateQuestion(trx, args.event, args.id, change);
        await appendAudit(trx, {
          actor: claims.sub,
          role: claims.role,
          action,
          event: args.event,
          target: args.id,
          before: auditView(before),
          after: auditView(after),
        });
        await announce(args.event, before, after);
        committed = [before, after];
        return toModQuestion(after);
      });
      if (committed) changed?.(args.event, ...committed);
      return result;
    };
    return handler as unknown as CommandHandler<N>;
  }

  const approve = moderate('qa.approve', (row) => (row.status === 'approved' ? null : { status: 'approved' }));

  const reject = moderate('qa.reject', (row) => (row.status === 'rejected' ? null : { status: 'rejected', pinned: false }));

  const edit = moderate('qa.edit', (row, args) => {
    if (row.status === 'rejected') throw new ClientError('conflict', 'a rejected question cannot be edited; approve it first');
    if (row.text === args.text) return null;
    return { text: args.text, original_text: row.original_text ?? row.text };
  });

  const pin = moderate('qa.pin', (row, args) => {
    if (args.pinned && row.status !== 'approved') throw new ClientError('conflict', `only approved questions can be pinned; this one is ${row.status}`);
    return row.pinned === args.pinned ? null : { pinned: args.pinned };
  });

  const answer = moderate(
    'qa.answer',
    (row, args) => {
      if (row.status !== 'approved') throw new ClientError('conflict', `only approved questions can be answered; this one is ${row.status}`);
      if (row.answered === args.answered) return null;
      return args.answered ? { answered: true, pinned: false } : { answered: false };
    },
    (event, before, after) => {
      if (after.answered && !before.answered) deps.onAnswered?.(event, after);
    },
  );

  const ask: CommandHandler<'qa.ask'> = async (args, { claims }) => {
    const { burst, intervalMs } = engagementLimits.questionRate;
    const rate = await takeRateToken(store.db, { event: args.event, bucket: 'qa', user: claims.sub, burst, intervalMs });
    if (!rate.allowed) throw new ClientError('rate_limited', `at most ${burst} questions at once, then one per ${intervalMs / 1000} s: try again in ${Math.ceil(rate.retryInMs / 1000)} s`);
    const filter = await deps.filters.forEvent(store.db, args.event);
    const name = args.anonymous ? null : (args.name ?? null);
    // A question tripping the filter waits for a moderator even in a post-moderated session.
    const flagged = filter.check(args.text).flagged || (name !== null && filter.check(name).flagged);
    const row = await store.db.transaction().execute(async (trx) => {
      if (!(await eventExists(trx, args.event))) throw new NotFoundError('event', args.event);
      const settings = await getQaSettings(trx, args.event, args.session);
      if (!settings.open) throw new ClientError('conflict', `questions for session "${args.session}" are closed`);
      const inserted = await insertQuestion(trx, {
        event: args.event,
        // time-ordered: messages made in the same millisecond keep their order in history (created_at, id)
        id: timeOrderedId(),
        session: args.session,
        text: args.text,
        author: claims.sub,
        name,
        status: settings.moderation === 'post' && !flagged ? 'approved' : 'pending',
        flagged,
      });
      await announce(args.event, null, inserted);
      await recordAnalytics(trx, {
        ts: Date.now(),
        event: args.event,
        kind: 'qa.question',
        actor: claims.sub,
        session: args.session,
        properties: { id: inserted.id, status: inserted.status, anonymous: args.anonymous, flagged, length: args.text.length },
      });
      return inserted;
    });
    return { id: row.id, status: row.status, question: toModQuestion(row) };
  };

  const upvote: CommandHandler<'qa.upvote'> = async (args, { claims }) => {
    const outcome = await store.db.transaction().execute(async (trx) => {
      const added = await addUpvote(trx, args.event, args.id, claims.sub);
      if (added?.counted) {
        await recordAnalytics(trx, { ts: Date.now(), event: args.event, kind: 'qa.upvote', actor: claims.sub, session: added.session, properties: { id: args.id, upvotes: added.upvotes } });
      }
      return added;
    });
    // Pending, rejected and unknown questions look the same to an attendee: not there.
    if (!outcome) throw new NotFoundError('question', args.id);
    if (outcome.counted) {
      upvotes.touch(`${args.event}/${outcome.session}`, args.id);
    }
    return { id: args.id, upvotes: outcome.upvotes, counted: outcome.counted };
  };

  const settings: CommandHandler<'qa.settings'> = async (args, { claims }) => {
    return store.db.transaction().execute(async (trx) => {
      if (!(await eventExists(trx, args.event))) throw new NotFoundError('event', args.event);
      const { before, after } = await updateQaSettings(trx, args.event, args.session, { moderation: args.moderation, open: args.open }, claims.sub);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'qa.settings', event: args.event, target: args.session, before, after });
      const message = { type: 'settings', session: args.session, settings: after } as const;
      await toModerators(args.event, args.session, message);
      await toAttendees(args.event, args.session, message);
      return after;
    });
  };

  return {
    commands: {
      'qa.ask': ask,
      'qa.upvote': upvote,
      'qa.approve': approve,
      'qa.reject': reject,
      'qa.edit': edit,
      'qa.pin': pin,
      'qa.answer': answer,
      'qa.settings': settings,
    },
    /** Publishes upvote counts still owed (shutdown: before the bus closes). */
    close: () => upvotes.close(),
  };
}

/** What the audit log keeps of a question: its moderation state and text, not its upvote count. */
function auditView(row: QaQuestionRow) {
  return { session: row.session, status: row.status, text: row.text, pinned: row.pinned, answered: row.answered };
}
