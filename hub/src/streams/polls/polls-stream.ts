import { randomUUID } from 'node:crypto';
import { engagementLimits, topicName, type Poll, type PollsMessage } from '@opshub/schema';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import { BusUnavailableError, type Bus } from '../../bus/bus.ts';
import type { CommandHandler } from '../../commands/command-router.ts';
import { ClientError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { ConflictError, NotFoundError } from '../../store/errors.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import {
  castVote,
  closePoll,
  getPollRow,
  insertPoll,
  markResultsPublished,
  openPoll,
  pollPublishState,
  setPollAllowChange,
  tallyPoll,
  toPoll,
} from '../../store/repos/polls-repo.ts';
import { eventExists } from '../../store/repos/events-repo.ts';
import { advisoryXactLock, lockSpace } from '../../store/repos/locks.ts';
import type { Store } from '../../store/store.ts';
import type { EventWordFilters } from '../chat/event-word-filters.ts';
import { Coalescer, type FlushOutcome } from './coalescer.ts';
import { ConcurrencyLimit } from './concurrency-limit.ts';
import { answersFor, type PollShape } from './vote-answers.ts';

export interface PollsStreamDeps {
  readonly bus: Bus;
  readonly store: Store;
  readonly log: Logger;
  readonly filters: EventWordFilters;
  /** live results of a poll reach the topic at most this often, across all hub processes (default 200 ms) */
  readonly resultsIntervalMs?: number;
  /**
   * votes writing at once per hub (default 6): a burst queues here rather than in the Store's connection pool (10
   * per hub by default), so publishing results and every other stream still get a connection promptly
   */
  readonly voteConcurrency?: number;
}

/**
 * Live polls: single and multiple choice, rating 1–5, word cloud.
 *
 * Exactness across hub processes: the database is the arbiter and the source of every number.
 * - A vote is a row keyed (event, poll, voter), written in one statement: a second vote is refused, or replaces the
 *   first. It reads the poll row `for key share`; `poll.close` takes the row `for update`, so close waits for votes in
 *   flight, then tallies and stores the final results, and no vote can land after that (see `castVote`).
 * - Live results are never summed in memory. After committing a vote a hub marks the poll dirty; a {@link Coalescer}
 *   flushes it at most once per interval. A flush takes the poll's results lock, reads the exact tallies in one
 *   statement, publishes them and notes the time, then commits. Hubs therefore publish one at a time, in the order
 *   they read, so the latest results message on the topic is always the freshest tally; and every vote is followed by
 *   a publish whose tally was read after that vote committed. A hub finding that another published less than an
 *   interval ago defers instead, so the topic carries at most one results message per poll per interval in total.
 */
export function pollsStream(deps: PollsStreamDeps) {
  const { bus, store, log } = deps;
  const intervalMs = deps.resultsIntervalMs ?? engagementLimits.resultsIntervalMs;
  const shapes = new PollShapes();
  const writes = new ConcurrencyLimit(deps.voteConcurrency ?? 6);
  const topic = (event: string) => topicName({ kind: 'polls', event });
  const keyOf = (event: string, poll: string) => `${event}/${poll}`;
  const publish = (event: string, message: PollsMessage) => bus.publish(topic(event), message);

  const results = new Coalescer<never>({
    intervalMs,
    onError: (err, key) => log.warn({ err, poll: key }, 'poll results not published; retrying'),
    flush: (key, _items, final) => publishResults(key, final),
  });

  async function publishResults(key: string, final: boolean): Promise<FlushOutcome> {
    const [event, id] = splitKey(key);
    return store.db.transaction().execute(async (trx): Promise<FlushOutcome> => {
      await advisoryXactLock(trx, lockSpace.pollResults, key, 'exclusive');
      const state = await pollPublishState(trx, event, id);
      // Closing published the final results; a draft has none.
      if (!state || state.row.status !== 'open') return;
      if (!final && state.sinceLastMs !== null && state.sinceLastMs < intervalMs) return { retryInMs: Math.ceil(intervalMs - state.sinceLastMs) };
      const poll = toPoll(state.row);
      const tally = await tallyPoll(trx, event, poll);
      await publish(event, { type: 'results', poll: id, session: poll.session, results: tally, at: Date.now() });
      await markResultsPublished(trx, event, id);
    });
  }

  const create: CommandHandler<'poll.create'> = async (args, { claims }) => {
    if (args.open && !bus.isHealthy()) throw new BusUnavailableError(bus.kind);
    const id = args.id ?? randomUUID();
    const options = (args.options ?? []).map((label, i) => ({ id: String(i + 1), label }));
    const poll = await store.db.transaction().execute(async (trx) => {
      if (!(await eventExists(trx, args.event))) throw new NotFoundError('event', args.event);
      const row = await insertPoll(trx, {
        event: args.event,
        id,
        session: args.session ?? null,
        kind: args.kind,
        question: args.question,
        options,
        maxChoices: args.kind === 'multiple' ? (args.maxChoices ?? options.length) : null,
        maxWords: args.kind === 'wordcloud' ? (args.maxWords ?? 1) : null,
        allowChange: args.allowChange,
        status: args.open ? 'open' : 'draft',
        createdBy: claims.sub,
      });
      if (!row) throw new ConflictError('poll', id);
      const created = toPoll(row);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'poll.create', event: args.event, target: id, after: definition(created) });
      if (created.status === 'open') await publish(args.event, { type: 'poll', poll: created });
      await recordAnalytics(trx, { ts: Date.now(), event: args.event, kind: 'poll.created', actor: claims.sub, session: created.session ?? '', properties: { poll: id, pollKind: created.kind, open: created.status === 'open' } });
      return created;
    });
    return poll;
  };

  const open: CommandHandler<'poll.open'> = async (args, { claims }) => {
    const poll = await store.db.transaction().execute(async (trx) => {
      const row = await openPoll(trx, args.event, args.poll);
      if (!row) throw await notInState(trx, args.event, args.poll, 'draft');
      const opened = toPoll(row);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'poll.open', event: args.event, target: args.poll, before: { status: 'draft' }, after: { status: 'open' } });
      await publish(args.event, { type: 'poll', poll: opened });
      await recordAnalytics(trx, { ts: Date.now(), event: args.event, kind: 'poll.opened', actor: claims.sub, session: opened.session ?? '', properties: { poll: opened.id } });
      return opened;
    });
    return poll;
  };

  const close: CommandHandler<'poll.close'> = async (args, { claims }) => {
    const key = keyOf(args.event, args.poll);
    const poll = await store.db.transaction().execute(async (trx) => {
      // The results lock orders this final message after any live results being published. The row lock waits for
      // every vote in flight to commit, and keeps new ones out until this commits (they then see `closed`).
      await advisoryXactLock(trx, lockSpace.pollResults, key, 'exclusive');
      const current = await getPollRow(trx, args.event, args.poll, { forUpdate: true });
      if (!current || current.status !== 'open') throw await notInState(trx, args.event, args.poll, 'open');
      const final = await tallyPoll(trx, args.event, toPoll(current));
      const row = (await closePoll(trx, args.event, args.poll, final))!;
      const closed = toPoll(row);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'poll.close', event: args.event, target: args.poll, before: { status: 'open' }, after: { status: 'closed', results: final } });
      await publish(args.event, { type: 'poll', poll: closed });
      await recordAnalytics(trx, { ts: Date.now(), event: args.event, kind: 'poll.closed', actor: claims.sub, session: closed.session ?? '', properties: { poll: closed.id, votes: closed.results.votes } });
      return closed;
    });
    return poll;
  };

  const settings: CommandHandler<'poll.settings'> = async (args, { claims }) => {
    return store.db.transaction().execute(async (trx) => {
      const current = await getPollRow(trx, args.event, args.poll, { forUpdate: true });
      if (!current) throw new NotFoundError('poll', args.poll);
      if (current.status === 'closed') throw new ClientError('conflict', `poll "${args.poll}" is closed: closed polls are final`);
      const row = (await setPollAllowChange(trx, args.event, args.poll, args.allowChange))!;
      const live = row.status === 'open' ? await tallyPoll(trx, args.event, toPoll(row)) : undefined;
      const poll = toPoll(row, live);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'poll.settings', event: args.event, target: args.poll, before: { allowChange: current.allow_change }, after: { allowChange: args.allowChange } });
      if (poll.status === 'open') await publish(args.event, { type: 'poll', poll });
      return poll;
    });
  };

  const vote: CommandHandler<'poll.vote'> = async (args, { claims }) => {
    const shape = await shapes.get(store, args.event, args.poll);
    const answers = answersFor(shape, args);
    if (shape.kind === 'wordcloud') {
      // The word cloud goes up on the projector: entries tripping the event's filter are refused outright.
      const filter = await deps.filters.forEvent(store.db, args.event);
      if (answers.some((a) => filter.check(a).flagged)) throw new ClientError('invalid', 'that entry is not allowed in this word cloud');
    }
    const outcome = await writes.run(() =>
      store.db.transaction().execute(async (trx) => {
        const cast = await castVote(trx, { event: args.event, poll: args.poll, voter: claims.sub, answers });
        if (cast.kind === 'inserted' || cast.kind === 'changed') {
          await recordAnalytics(trx, {
            ts: Date.now(),
            event: args.event,
            kind: 'poll.vote',
            actor: claims.sub,
            session: shape.session ?? '',
            properties: { poll: args.poll, pollKind: shape.kind, answers, changed: cast.kind === 'changed' },
          });
        }
        return cast;
      }),
    );
    if (outcome.kind === 'not_open') {
      if (outcome.status === null) throw new NotFoundError('poll', args.poll);
      throw new ClientError('conflict', outcome.status === 'closed' ? `poll "${args.poll}" is closed` : `poll "${args.poll}" is not open yet`);
    }
    if (outcome.kind === 'refused') throw new ClientError('conflict', `you have already voted in poll "${args.poll}", and it does not allow changing a vote`);
    const key = keyOf(args.event, args.poll);
    results.touch(key);
    return { poll: args.poll, answers, changed: outcome.kind === 'changed' };
  };

  return {
    commands: { 'poll.create': create, 'poll.open': open, 'poll.close': close, 'poll.settings': settings, 'poll.vote': vote },
    /** Publishes results still owed (shutdown: before the bus closes). */
    close: () => results.close(),
  };
}

/** The error for a poll that is missing or not in the state a command needs. */
async function notInState(trx: Parameters<typeof getPollRow>[0], event: string, id: string, needed: 'draft' | 'open'): Promise<Error> {
  const row = await getPollRow(trx, event, id);
  if (!row) return new NotFoundError('poll', id);
  return new ClientError('conflict', `poll "${id}" is ${row.status}, not ${needed}`);
}

function definition(poll: Poll) {
  const { results: _results, ...rest } = poll;
  return rest;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/**
 * The immutable part of polls (kind, options, limits, session), cached per hub so a vote validates without reading the
 * poll's options first. Status and the allow-change flag change, and are read inside each vote's transaction.
 */
class PollShapes {
  /** promises, so that the first votes arriving together share one read of the poll */
  readonly #cache = new Map<string, Promise<PollShape & { session: string | null }>>();

  constructor(private readonly max = 10_000) {}

  get(store: Store, event: string, id: string): Promise<PollShape & { session: string | null }> {
    const key = `${event}/${id}`;
    let shape = this.#cache.get(key);
    if (!shape) {
      shape = this.#read(store, event, id);
      if (this.#cache.size >= this.max) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, shape);
      // A poll that does not exist (yet) is not remembered.
      shape.catch(() => this.#cache.get(key) === shape && this.#cache.delete(key));
    }
    return shape;
  }

  async #read(store: Store, event: string, id: string): Promise<PollShape & { session: string | null }> {
    const row = await getPollRow(store.db, event, id);
    if (!row) throw new NotFoundError('poll', id);
    const { kind, options, maxChoices, maxWords, session } = toPoll(row);
    return { kind, options, maxChoices, maxWords, session };
  }
}
