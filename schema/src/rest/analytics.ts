import { z } from 'zod';

/**
 * Retention and erasure of an event's raw analytics (issue 14, item 5): the export's query, the erasure request and
 * its answer. See docs/api.md, "Analytics export and erasure".
 */

export const analyticsErasureLimits = Object.freeze({
  /** tickets or actors named in one request: one attendee has one ticket and a few `sub`s (one per join) */
  ids: 100,
  idChars: 256,
});

const ErasureId = z.string().min(1).max(analyticsErasureLimits.idChars);

/** `GET /api/v1/events/{e}/analytics/export?format=csv|parquet` */
export const AnalyticsExportQuery = z.object({ format: z.enum(['csv', 'parquet']).default('csv') });

/**
 * `POST /api/v1/events/{e}/analytics/erasures`: one attendee's analytics (GDPR erasure). A row goes when its ticket is
 * one of `tickets` or its actor one of `actors` (an attendee's `sub`s, one per join); at least one id is needed.
 */
export const AnalyticsErasureBody = z
  .strictObject({
    tickets: z.array(ErasureId).max(analyticsErasureLimits.ids).default([]),
    actors: z.array(ErasureId).max(analyticsErasureLimits.ids).default([]),
  })
  .refine((b) => b.tickets.length + b.actors.length > 0, { message: 'name at least one ticket or actor (to erase a whole event, DELETE /api/v1/events/{e}/analytics)' });
export type AnalyticsErasureBody = z.infer<typeof AnalyticsErasureBody>;

/** An erasure as recorded, and whether this hub's ClickHouse has applied it yet (other hubs' follow on their own). */
export const AnalyticsErasure = z.object({
  id: z.number().int(),
  event: z.string(),
  /** empty with `actors` empty: the whole event */
  tickets: z.array(z.string()),
  actors: z.array(z.string()),
  /** rows deleted from the Store's outbox (shipped or still waiting) */
  outboxRows: z.number().int(),
  /** ms since the epoch */
  at: z.number().int(),
  /** true once the answering hub's ClickHouse holds none of the rows; the request stands either way */
  applied: z.boolean(),
});
export type AnalyticsErasure = z.infer<typeof AnalyticsErasure>;
