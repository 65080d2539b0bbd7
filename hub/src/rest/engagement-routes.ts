import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import {
  engagementLimits,
  Id,
  QuestionStatus,
  topicName,
  type ChatState,
  type Claims,
  type PollsState,
  type QaState,
  type Topic,
} from '@opshub/schema';
import { canCommand, canSubscribe } from '../auth/permissions.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { Bus } from '../bus/bus.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { getChatSettings, getWordList, listChatMessages, listMutes, toChatMessage, toModChatMessage } from '../store/repos/chat-repo.ts';
import { eventExists } from '../store/repos/events-repo.ts';
import { getPollRow, listPollRows, tallyPoll, toPoll, votesOf } from '../store/repos/polls-repo.ts';
import { getQaSettings, listQuestions, toModQuestion, toQuestion } from '../store/repos/qa-repo.ts';
import type { Store } from '../store/store.ts';
import { route, type Request } from '../transport/http-route.ts';
import { authenticate } from './authenticate.ts';
import { ChatQuery, PollsQuery, QaQuery } from '@opshub/schema/rest-queries';


/**
 * The state behind the engagement pages, for their first paint and after a `reset`. Each body carries the topic's
 * `seq` read before the state: subscribe with `since` = `seq` and apply what follows as upserts.
 * Who may read what follows the permission table: reading a topic's state needs the right to subscribe to it, and the
 * moderator views (drafts, the question queue, held messages, originals) need the right to its `.../mod` topic or
 * the moderator command.
 *
 * - `GET /api/v1/events/{e}/polls?session=S`, `GET /api/v1/events/{e}/polls/{poll}`
 * - `GET /api/v1/events/{e}/qa/{session}?order=votes|recent&status=pending|approved|rejected|all&limit=N`
 * - `GET /api/v1/events/{e}/chat/{room}?limit=N&before=MS`
 * - `GET /api/v1/events/{e}/moderation/words`, `GET /api/v1/events/{e}/moderation/mutes`
 */
export function registerEngagementRoutes(
  app: TemplatedApp,
  deps: { store: Store; bus: Bus; verifier: TokenVerifier; log: Logger; onStatus?: (status: number) => void },
): void {
  const { store, bus, verifier } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  /** Authenticates, validates the event and the right to read `topic`, and checks the event exists. */
  async function access(req: Request, topic: (event: string) => Topic): Promise<{ claims: Claims; event: string }> {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    if (!canSubscribe(claims, topic(event))) throw new ClientError('forbidden', `role "${claims.role}" may not read this for event "${event}"`);
    if (!(await eventExists(store.db, event))) throw new ClientError('not_found', `event "${event}" not found`);
    return { claims, event };
  }

  route(app, 'get', '/api/v1/events/:e/polls', options, async (req) => {
    const { claims, event } = await access(req, (e) => ({ kind: 'polls', event: e }));
    const query = parseQuery(PollsQuery, req);
    const seq = await bus.head(topicName({ kind: 'polls', event }));
    const moderator = canCommand(claims, 'poll.create', event);
    const rows = await listPollRows(store.db, event, { session: query.session, statuses: moderator ? ['draft', 'open', 'closed'] : ['open', 'closed'] });
    const mine = await votesOf(store.db, event, claims.sub, rows.map((r) => r.id));
    const polls: PollsState['polls'] = [];
    for (const row of rows) {
      const live = row.status === 'open' ? await tallyPoll(store.db, event, toPoll(row)) : undefined;
      polls.push({ ...toPoll(row, live), myVote: mine.get(row.id) ?? null });
    }
    return { status: 200, body: { seq, polls } satisfies PollsState };
  });

  route(app, 'get', '/api/v1/events/:e/polls/:poll', options, async (req) => {
    const { claims, event } = await access(req, (e) => ({ kind: 'polls', event: e }));
    const id = idParam(req, 1, 'poll');
    const seq = await bus.head(topicName({ kind: 'polls', event }));
    const row = await getPollRow(store.db, event, id);
    // A draft is the moderators' business: to anyone else it does not exist yet.
    if (!row || (row.status === 'draft' && !canCommand(claims, 'poll.create', event))) throw new ClientError('not_found', `poll "${id}" not found`);
    const live = row.status === 'open' ? await tallyPoll(store.db, event, toPoll(row)) : undefined;
    const mine = await votesOf(store.db, event, claims.sub, [id]);
    return { status: 200, body: { seq, poll: { ...toPoll(row, live), myVote: mine.get(id) ?? null } } };
  });

  route(app, 'get', '/api/v1/events/:e/qa/:session', options, async (req) => {
    const session = idParam(req, 1, 'session');
    const { claims, event } = await access(req, (e) => ({ kind: 'qa', event: e, session }));
    const query = parseQuery(QaQuery, req);
    const moderator = canSubscribe(claims, { kind: 'qa.mod', event, session });
    const seq = await bus.head(topicName({ kind: 'qa', event, session }));
    const modSeq = moderator ? await bus.head(topicName({ kind: 'qa.mod', event, session })) : undefined;
    // Attendees are only ever shown approved questions, whatever they ask for.
    const statuses = !moderator ? (['approved'] as const) : query.status === 'all' ? QuestionStatus.options : [query.status];
    const settings = await getQaSettings(store.db, event, session);
    const rows = await listQuestions(store.db, event, session, { statuses, order: query.order, voter: claims.sub, limit: query.limit });
    const questions = rows.map((row) => ({ ...(moderator ? toModQuestion(row) : toQuestion(row)), upvoted: row.upvoted }));
    const body: QaState = { session, settings, seq, ...(modSeq === undefined ? {} : { modSeq }), order: query.order, questions };
    return { status: 200, body };
  });

  route(app, 'get', '/api/v1/events/:e/chat/:room', options, async (req) => {
    const room = idParam(req, 1, 'room');
    const { claims, event } = await access(req, (e) => ({ kind: 'chat', event: e, room }));
    const query = parseQuery(ChatQuery, req);
    const moderator = canSubscribe(claims, { kind: 'chat.mod', event, room });
    const seq = await bus.head(topicName({ kind: 'chat', event, room }));
    const modSeq = moderator ? await bus.head(topicName({ kind: 'chat.mod', event, room })) : undefined;
    const settings = await getChatSettings(store.db, event, room);
    const visible = await listChatMessages(store.db, event, room, { status: 'visible', limit: query.limit, before: query.before });
    const body: ChatState = { room, settings, seq, messages: visible.map(moderator ? toModChatMessage : toChatMessage) };
    if (moderator) {
      body.modSeq = modSeq;
      body.held = (await listChatMessages(store.db, event, room, { status: 'held', limit: engagementLimits.chatPage })).map(toModChatMessage);
    }
    return { status: 200, body };
  });

  route(app, 'get', '/api/v1/events/:e/moderation/words', options, async (req) => {
    const { claims, event } = await moderatorAccess(req);
    if (!canCommand(claims, 'chat.words', event)) throw new ClientError('forbidden', `role "${claims.role}" may not read the word list`);
    return { status: 200, body: await getWordList(store.db, event) };
  });

  route(app, 'get', '/api/v1/events/:e/moderation/mutes', options, async (req) => {
    const { claims, event } = await moderatorAccess(req);
    if (!canCommand(claims, 'chat.mute', event)) throw new ClientError('forbidden', `role "${claims.role}" may not read mutes`);
    return { status: 200, body: { mutes: await listMutes(store.db, event) } };
  });

  async function moderatorAccess(req: Request): Promise<{ claims: Claims; event: string }> {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    if (!(await eventExists(store.db, event))) {
      // Only say whether an event exists to someone who could see it.
      if (!canCommand(claims, 'chat.words', event)) throw new ClientError('forbidden', `the token does not grant event "${event}"`);
      throw new ClientError('not_found', `event "${event}" not found`);
    }
    return { claims, event };
  }
}

function idParam(req: Request, index: number, what: string): string {
  const value = req.params[index] ?? '';
  if (!Id.safeParse(value).success) throw new ClientError('invalid', `"${value}" is not a valid ${what} id`);
  return value;
}

function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(req.query));
  if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error, 'query'));
  return parsed.data;
}
