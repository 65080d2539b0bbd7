import { engagementLimits, topicName, type ChatModMessage, type ChatRoomMessage } from '@opshub/schema';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import { BusUnavailableError, type Bus } from '../../bus/bus.ts';
import type { CommandHandler } from '../../commands/command-router.ts';
import { ClientError } from '../../errors.ts';
import { NotFoundError } from '../../store/errors.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import {
  chatSendState,
  editWordList,
  insertChatMessage,
  lockChatMessage,
  moderateChatMessage,
  muteUser,
  takeRateToken,
  toChatMessage,
  toModChatMessage,
  unmuteUser,
  updateChatSettings,
} from '../../store/repos/chat-repo.ts';
import { eventExists } from '../../store/repos/events-repo.ts';
import type { Store } from '../../store/store.ts';
import type { EventWordFilters } from './event-word-filters.ts';
import { timeOrderedId } from '../../store/ids/time-ordered-id.ts';

export interface ChatStreamDeps {
  readonly bus: Bus;
  readonly store: Store;
  /** the compiled word filters, shared with Q&A and word-cloud polls */
  readonly filters: EventWordFilters;
}

/**
 * Chat per room. A message passes, in order: the event exists, the sender is not muted (the mute is a Store row, so
 * it holds on every hub and across restarts), the room is open, the sender's rate limit (exact across hubs: one GCRA
 * upsert in the Store, on top of the socket's frame limit), then the word filter (`bad-words` plus the event's list,
 * whose version is read in the same round trip as the mute, so an edit applies to the next message on every hub).
 * A flagged message is stored with the original kept for moderators, and published masked or held for review.
 */
export function chatStream(deps: ChatStreamDeps) {
  const { bus, store, filters } = deps;
  const roomTopic = (event: string, room: string) => topicName({ kind: 'chat', event, room });
  const modTopic = (event: string, room: string) => topicName({ kind: 'chat.mod', event, room });
  const toRoom = (event: string, room: string, m: ChatRoomMessage) => bus.publish(roomTopic(event, room), m);
  const toModerators = (event: string, room: string, m: ChatModMessage) => bus.publish(modTopic(event, room), m);

  const send: CommandHandler<'chat.send'> = async (args, { claims }) => {
    const state = await chatSendState(store.db, args.event, args.room, claims.sub);
    if (!state.eventExists) throw new NotFoundError('event', args.event);
    if (state.mutedUntil) {
      const seconds = Math.ceil(state.mutedForMs / 1000);
      throw new ClientError('forbidden', `you are muted in this event until ${state.mutedUntil.toISOString()} (${seconds} s from now)`);
    }
    if (!state.settings.open) throw new ClientError('conflict', `chat room "${args.room}" is closed`);
    const { burst, intervalMs } = engagementLimits.chatRate;
    const rate = await takeRateToken(store.db, { event: args.event, bucket: 'chat', user: claims.sub, burst, intervalMs });
    if (!rate.allowed) {
      throw new ClientError('rate_limited', `at most ${burst} messages at once, then one per ${intervalMs / 1000} s: try again in ${rate.retryInMs} ms`);
    }
    const filter = await filters.forEvent(store.db, args.event, state.wordsVersion);
    const text = filter.check(args.text);
    const name = args.name === undefined ? undefined : filter.check(args.name);
    const flagged = text.flagged || name?.flagged === true;
    const hold = flagged && state.settings.filter === 'hold';
    const masked = flagged && !hold;
    const row = await store.db.transaction().execute(async (trx) => {
      const inserted = await insertChatMessage(trx, {
        event: args.event,
        // time-ordered: messages made in the same millisecond keep their order in history (created_at, id)
        id: timeOrderedId(),
        room: args.room,
        author: claims.sub,
        name: (masked ? name?.masked : args.name) ?? null,
        text: masked ? text.masked : args.text,
        original: flagged ? args.text : null,
        originalName: flagged ? (args.name ?? null) : null,
        masked,
        status: hold ? 'held' : 'visible',
      });
      if (hold) {
        await toModerators(args.event, args.room, { type: 'held', message: toModChatMessage(inserted) });
      } else {
        await toRoom(args.event, args.room, { type: 'message', message: toChatMessage(inserted) });
        if (masked) await toModerators(args.event, args.room, { type: 'flagged', message: toModChatMessage(inserted) });
      }
      await recordAnalytics(trx, {
        ts: inserted.created_at.getTime(),
        event: args.event,
        kind: 'chat.message',
        actor: claims.sub,
        properties: { id: inserted.id, room: args.room, status: inserted.status, masked, flagged, length: args.text.length, matches: text.matches.length },
      });
      return inserted;
    });
    return { id: row.id, status: row.status, masked };
  };

  const remove: CommandHandler<'chat.delete'> = async (args, { claims }) => {
    return store.db.transaction().execute(async (trx) => {
      const before = await lockChatMessage(trx, args.event, args.id);
      if (!before) throw new NotFoundError('message', args.id);
      if (before.status === 'deleted') return { id: before.id, room: before.room };
      await moderateChatMessage(trx, args.event, args.id, 'deleted', claims.sub);
      await appendAudit(trx, {
        actor: claims.sub,
        role: claims.role,
        action: 'chat.delete',
        event: args.event,
        target: args.id,
        before: { room: before.room, author: before.author, status: before.status, text: before.original ?? before.text },
        after: { status: 'deleted' },
      });
      if (before.status === 'visible') await toRoom(args.event, before.room, { type: 'deleted', id: before.id });
      await toModerators(args.event, before.room, { type: 'deleted', id: before.id, by: claims.sub });
      return { id: before.id, room: before.room };
    });
  };

  const approve: CommandHandler<'chat.approve'> = async (args, { claims }) => {
    return store.db.transaction().execute(async (trx) => {
      const before = await lockChatMessage(trx, args.event, args.id);
      if (!before) throw new NotFoundError('message', args.id);
      if (before.status === 'visible') return toModChatMessage(before);
      if (before.status === 'deleted') throw new ClientError('conflict', `message "${args.id}" was deleted`);
      // Released as written: the moderator has read it and judged the filter wrong.
      const after = await moderateChatMessage(trx, args.event, args.id, 'visible', claims.sub);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'chat.approve', event: args.event, target: args.id, before: { status: 'held' }, after: { status: 'visible' } });
      await toRoom(args.event, after.room, { type: 'message', message: toChatMessage(after) });
      await toModerators(args.event, after.room, { type: 'approved', message: toModChatMessage(after) });
      return toModChatMessage(after);
    });
  };

  const mute: CommandHandler<'chat.mute'> = async (args, { claims }) => {
    if (args.room !== undefined && !bus.isHealthy()) throw new BusUnavailableError(bus.kind);
    const reason = args.reason || null;
    return store.db.transaction().execute(async (trx) => {
      if (!(await eventExists(trx, args.event))) throw new NotFoundError('event', args.event);
      const { until, before } = await muteUser(trx, { event: args.event, user: args.user, seconds: args.seconds, reason, by: claims.sub });
      await appendAudit(trx, {
        actor: claims.sub,
        role: claims.role,
        action: 'chat.mute',
        event: args.event,
        target: args.user,
        before: before ? { until: before.toISOString() } : undefined,
        after: { until: until.toISOString(), seconds: args.seconds, reason },
      });
      if (args.room !== undefined) await toModerators(args.event, args.room, { type: 'muted', user: args.user, until: until.getTime(), by: claims.sub, reason });
      return { user: args.user, until: until.getTime() };
    });
  };

  const unmute: CommandHandler<'chat.unmute'> = async (args, { claims }) => {
    if (args.room !== undefined && !bus.isHealthy()) throw new BusUnavailableError(bus.kind);
    return store.db.transaction().execute(async (trx) => {
      const until = await unmuteUser(trx, args.event, args.user);
      if (until === null) return { user: args.user, muted: false };
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'chat.unmute', event: args.event, target: args.user, before: { until: until.toISOString() } });
      if (args.room !== undefined) await toModerators(args.event, args.room, { type: 'unmuted', user: args.user, by: claims.sub });
      return { user: args.user, muted: false };
    });
  };

  const words: CommandHandler<'chat.words'> = async (args, { claims }) => {
    if (args.room !== undefined && !bus.isHealthy()) throw new BusUnavailableError(bus.kind);
    return store.db.transaction().execute(async (trx) => {
      if (!(await eventExists(trx, args.event))) throw new NotFoundError('event', args.event);
      let edited: Awaited<ReturnType<typeof editWordList>>;
      try {
        edited = await editWordList(trx, { event: args.event, add: args.add, remove: args.remove, by: claims.sub, max: engagementLimits.restrictedWords });
      } catch (error) {
        if (error instanceof RangeError) throw new ClientError('invalid', error.message);
        throw error;
      }
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'chat.words', event: args.event, target: args.event, before: edited.before, after: edited.after });
      if (args.room !== undefined) await toModerators(args.event, args.room, { type: 'words', words: edited.after, version: edited.version });
      return { words: edited.after, version: edited.version };
    });
  };

  const settings: CommandHandler<'chat.settings'> = async (args, { claims }) => {
    return store.db.transaction().execute(async (trx) => {
      if (!(await eventExists(trx, args.event))) throw new NotFoundError('event', args.event);
      const { before, after } = await updateChatSettings(trx, args.event, args.room, { filter: args.filter, open: args.open }, claims.sub);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'chat.settings', event: args.event, target: args.room, before, after });
      const message = { type: 'settings', room: args.room, settings: after } as const;
      await toRoom(args.event, args.room, message);
      await toModerators(args.event, args.room, message);
      return after;
    });
  };

  return {
    commands: {
      'chat.send': send,
      'chat.delete': remove,
      'chat.approve': approve,
      'chat.mute': mute,
      'chat.unmute': unmute,
      'chat.words': words,
      'chat.settings': settings,
    },
  };
}
