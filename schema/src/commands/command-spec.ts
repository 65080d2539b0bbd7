import type { z } from 'zod';

/** One command: what it does, what it takes (every command's args carry `event`), what it answers. */
export interface CommandSpec {
  summary: string;
  args: z.ZodType;
  result: z.ZodType;
  /** the topic the command publishes on, when it publishes */
  topic?: string;
}
