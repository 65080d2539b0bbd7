import { z } from 'zod';
import { Id } from '../claims.ts';
import type { CommandSpec } from './command-spec.ts';

/** Control-room commands: acknowledging alerts and correcting a zone's counter. Both are audited. */
export const opsCommands = {
  'alert.ack': {
    summary: 'Acknowledge an alert; the acknowledgement (who, when) is published on event/{event}/alerts so every console clears it. Idempotent.',
    args: z.strictObject({ event: Id, id: z.string().min(1).max(300) }),
    result: z.object({ id: z.string(), ack: z.object({ by: z.string(), at: z.number() }), already: z.boolean() }),
    topic: 'event/{event}/alerts',
  },
  'capacity.correct': {
    summary: "Set a zone's counter to what staff counted (stored as an offset on what the scans say); publishes the corrected occupancy on event/{event}/capacity.",
    args: z.strictObject({ event: Id, zone: Id, inside: z.number().int().min(0).max(10_000_000), reason: z.string().trim().min(1).max(500) }),
    result: z.object({ zone: z.string(), inside: z.number().int(), delta: z.number().int() }),
    topic: 'event/{event}/capacity',
  },
} as const satisfies Record<string, CommandSpec>;
