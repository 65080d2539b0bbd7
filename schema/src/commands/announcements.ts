import { z } from 'zod';
import { Id } from '../claims.ts';
import type { CommandSpec } from './command-spec.ts';

export const AnnounceSendArgs = z.strictObject({
  event: Id,
  text: z.string().trim().min(1).max(2000),
  level: z.enum(['info', 'warning', 'emergency']),
});

/** Announcements: staff tell everyone at the event something; `emergency` is the broadcast the console confirms. */
export const announcementCommands = {
  'announce.send': {
    summary: 'Store an announcement, publish it on event/{event}/announcements and record it in analytics.',
    args: AnnounceSendArgs,
    result: z.object({ id: z.string(), seq: z.number().int() }),
    topic: 'event/{event}/announcements',
  },
} as const satisfies Record<string, CommandSpec>;

/** `event/{e}/announcements` message data. */
export const AnnouncementMessage = z.object({
  id: z.string(),
  event: Id,
  text: z.string(),
  level: z.enum(['info', 'warning', 'emergency']),
  by: z.string(),
  at: z.number(),
});
export type AnnouncementMessage = z.infer<typeof AnnouncementMessage>;
