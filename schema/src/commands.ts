import { z } from 'zod';
import { Id } from './claims.ts';

/**
 * Every `cmd` the hub accepts on `/ws`: its name, who may send it, what it takes and what it answers.
 * `docs/protocol.md` is generated from this table (`npm run docs -w schema`), and a test fails when they differ.
 */
export const AnnounceSendArgs = z.strictObject({
  event: Id,
  text: z.string().trim().min(1).max(2000),
  level: z.enum(['info', 'warning', 'emergency']),
});
export const AnnounceSendResult = z.object({ id: z.string(), seq: z.number().int() });

export const commands = {
  'announce.send': {
    summary: 'Store an announcement, publish it on event/{event}/announcements and record it in analytics.',
    args: AnnounceSendArgs,
    result: AnnounceSendResult,
    topic: 'event/{event}/announcements',
  },
} as const satisfies Record<string, CommandSpec>;

export interface CommandSpec {
  summary: string;
  args: z.ZodType;
  result: z.ZodType;
  /** the topic the command publishes on, when it publishes */
  topic?: string;
}

export type CommandName = keyof typeof commands;
export type CommandArgs<N extends CommandName> = z.infer<(typeof commands)[N]['args']>;
export type CommandResult<N extends CommandName> = z.infer<(typeof commands)[N]['result']>;

/** Messages the hub publishes, per topic kind (the `data` of a `msg` frame). */
export const AnnouncementMessage = z.object({
  id: z.string(),
  event: Id,
  text: z.string(),
  level: z.enum(['info', 'warning', 'emergency']),
  by: z.string(),
  at: z.number(),
});
export type AnnouncementMessage = z.infer<typeof AnnouncementMessage>;
