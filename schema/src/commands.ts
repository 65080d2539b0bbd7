import type { z } from 'zod';
import { announcementCommands } from './commands/announcements.ts';
import { opsCommands } from './commands/ops.ts';
import { pollCommands } from './commands/polls.ts';
import { qaCommands } from './commands/qa.ts';
import { chatCommands } from './commands/chat.ts';
import { leadCommands } from './commands/leads.ts';
import { directiveCommands } from './commands/directives.ts';

export type { CommandSpec } from './commands/command-spec.ts';
export * from './commands/announcements.ts';
export * from './commands/ops.ts';
export * from './commands/polls.ts';
export * from './commands/qa.ts';
export * from './commands/chat.ts';
export * from './commands/leads.ts';
export * from './commands/box-office.ts';
export * from './commands/directives.ts';
export * from './commands/sessions.ts';

/**
 * Every `cmd` the hub accepts on `/ws`, merged from one file per stream in `commands/`.
 * `docs/protocol.md` is generated from this table (`npm run docs`), and a test fails when they differ.
 * Who may send each command is `commandRules` in `hub/src/auth/permissions.ts`.
 */
export const commands = {
  ...announcementCommands,
  ...opsCommands,
  ...pollCommands,
  ...qaCommands,
  ...chatCommands,
  ...leadCommands,
  ...directiveCommands,
} as const;

export type CommandName = keyof typeof commands;
export type CommandArgs<N extends CommandName> = z.infer<(typeof commands)[N]['args']>;
export type CommandResult<N extends CommandName> = z.infer<(typeof commands)[N]['result']>;
