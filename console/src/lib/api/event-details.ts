import { Id } from '@opshub/schema';
import { z } from 'zod';

/** `GET /api/v1/events/{e}`: the event with its zones and gates. Extra fields the hub may add are ignored. */
export const EventDetails = z.object({
  id: Id,
  name: z.string(),
  timezone: z.string().default('UTC'),
  zones: z.array(z.object({ id: Id, name: z.string(), capacity: z.number().int() })),
  gates: z.array(z.object({ id: Id, name: z.string(), zone: z.string() })),
});
export type EventDetails = z.infer<typeof EventDetails>;

/** A count the summary gives per gate or zone: a number, or an object with one of the usual count fields. */
const Count = z.union([
  z.number(),
  z.looseObject({ checkedIn: z.number().optional(), admitted: z.number().optional(), inside: z.number().optional(), count: z.number().optional() }),
]);

/**
 * `GET /api/v1/events/{e}/checkins/summary`. `seq`, when the hub includes it, is the `event/{e}/checkins` seq the
 * figures reflect, in the bus `epoch` named beside it: the console then counts exactly the messages after it when
 * its stream is in the same epoch (see CheckinsModel).
 */
export const CheckinsSummary = z.looseObject({
  registered: z.number().int(),
  checkedIn: z.number().int(),
  inside: z.number().int(),
  duplicates: z.number().int().default(0),
  byGate: z.record(z.string(), Count).default({}),
  byZone: z.record(z.string(), Count).default({}),
  seq: z.number().int().min(0).optional(),
  epoch: z.string().min(1).optional(),
});
export type CheckinsSummary = z.infer<typeof CheckinsSummary>;

/** The number a summary entry carries for `field` (or its only count). */
export function countOf(value: z.infer<typeof Count> | undefined, field: 'checkedIn' | 'inside'): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  return value[field] ?? value.admitted ?? value.count;
}
