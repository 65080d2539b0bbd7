import type { z } from 'zod';

/** One command: what it does, what it takes (every command's args carry `event`), what it answers. */
export interface CommandSpec {
  summary: string;
  args: z.ZodType;
  result: z.ZodType;
  /** the topic the command publishes on, when it publishes */
  topic?: string;
  /**
   * True when the command publishes only in some cases (a mute without a room, a poll created closed): the router
   * then leaves the "bus unreachable" refusal to the handler, which knows whether this call will publish.
   */
  publishesSometimes?: true;
}
