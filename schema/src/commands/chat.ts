import { z } from 'zod';
import { Id } from '../claims.ts';
import { ChatFilterMode, ChatMessageStatus, ChatSettings, DisplayName, engagementLimits as limits, ModChatMessage, WordList } from '../engagement.ts';
import type { CommandSpec } from './command-spec.ts';

const MessageId = z.string().min(1).max(64);
/** A token `sub`, as carried by chat messages' `author`. */
const User = z.string().min(1).max(200);
const RestrictedWord = z.string().trim().min(1).max(limits.restrictedWordChars);
/** the room whose moderator topic should hear about an event-wide change (mutes and the word list apply to every room) */
const NotifyRoom = Id.optional();

/** Chat per room, with the `bad-words` list plus the event's own restricted words, a per-user rate limit, deletes and mutes. */
export const chatCommands = {
  'chat.send': {
    summary:
      'Post a message to a room. A message tripping the word filter (the bad-words list plus the event\'s restricted words) is ' +
      'published masked, or held for moderators, as the room is set. Refused with `forbidden` (naming when the mute ends) while ' +
      `the sender is muted, and \`rate_limited\` beyond ${limits.chatRate.burst} messages at once, then one per ` +
      `${limits.chatRate.intervalMs / 1000} s, per user across hub processes. Recorded in analytics.`,
    args: z.strictObject({
      event: Id,
      room: Id,
      text: z.string().trim().min(1).max(limits.chatChars),
      name: DisplayName.optional(),
    }),
    result: z.object({ id: z.string(), status: ChatMessageStatus, masked: z.boolean() }),
    topic: 'event/{event}/chat/{room} (or event/{event}/chat/{room}/mod when held)',
  },
  'chat.delete': {
    summary: 'Delete a message (visible or held); the removal is broadcast to the room. Deleting twice is harmless. Audited.',
    args: z.strictObject({ event: Id, id: MessageId }),
    result: z.object({ id: z.string(), room: Id }),
    topic: 'event/{event}/chat/{room} and event/{event}/chat/{room}/mod',
  },
  'chat.approve': {
    summary: 'Release a held message to the room as it was written. Audited.',
    args: z.strictObject({ event: Id, id: MessageId }),
    result: ModChatMessage,
    topic: 'event/{event}/chat/{room} and event/{event}/chat/{room}/mod',
  },
  'chat.mute': {
    summary:
      'Mute a user (a message\'s `author`) in every room of the event for `seconds`; stored, so it holds across hub processes and ' +
      'restarts. Muting again replaces the end time. Audited.',
    args: z.strictObject({
      event: Id,
      user: User,
      seconds: z.number().int().min(limits.muteMinSeconds).max(limits.muteMaxSeconds),
      reason: z.string().trim().max(200).optional(),
      room: NotifyRoom,
    }),
    result: z.object({ user: z.string(), until: z.number().int() }),
    topic: 'event/{event}/chat/{room}/mod, when `room` is given',
    publishesSometimes: true,
  },
  'chat.unmute': {
    summary: 'End a mute early. Audited.',
    args: z.strictObject({ event: Id, user: User, room: NotifyRoom }),
    result: z.object({ user: z.string(), muted: z.boolean() }),
    topic: 'event/{event}/chat/{room}/mod, when `room` is given',
    publishesSometimes: true,
  },
  'chat.words': {
    summary:
      'Edit the event\'s restricted word list (on top of the bad-words list; whole words or phrases, any case). Takes effect for ' +
      'the next message on every hub process. Applies to chat, questions and word-cloud entries. Audited.',
    args: z
      .strictObject({
        event: Id,
        add: z.array(RestrictedWord).max(limits.restrictedWords).default([]),
        remove: z.array(RestrictedWord).max(limits.restrictedWords).default([]),
        room: NotifyRoom,
      }),
    result: WordList,
    topic: 'event/{event}/chat/{room}/mod, when `room` is given',
    publishesSometimes: true,
  },
  'chat.settings': {
    summary: 'Set what the filter does in a room (`mask` or `hold`), and open or close the room. Published as `settings`. Audited.',
    args: z.strictObject({ event: Id, room: Id, filter: ChatFilterMode.optional(), open: z.boolean().optional() }),
    result: ChatSettings,
    topic: 'event/{event}/chat/{room} and event/{event}/chat/{room}/mod',
  },
} as const satisfies Record<string, CommandSpec>;
