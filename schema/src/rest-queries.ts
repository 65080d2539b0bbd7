import { z } from 'zod';
import { Id } from './claims.ts';
import { engagementLimits, QuestionStatus } from './engagement.ts';
import { HeatmapBucket, HeatmapDim, leadLimits } from './leads.ts';

/**
 * Query strings of the REST routes, parsed by the hub and described in the OpenAPI document from the same schemas.
 * Values arrive as strings: numbers are coerced.
 */

/** `GET /api/v1/events/{e}/polls?session=S` */
export const PollsQuery = z.object({ session: Id.optional() });

/** `GET /api/v1/events/{e}/qa/{session}` */
export const QaQuery = z.object({
  order: z.enum(['votes', 'recent']).default('votes'),
  status: z.union([QuestionStatus, z.literal('all')]).default('all'),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

/** `GET /api/v1/events/{e}/chat/{room}` */
export const ChatQuery = z.object({
  limit: z.coerce.number().int().min(1).max(engagementLimits.chatPage).default(engagementLimits.chatPage),
  /** ms since the epoch: messages older than this (paging back) */
  before: z.coerce.number().int().min(0).optional(),
});

/** `GET /api/v1/events/{e}/exhibitors/{x}/leads` */
export const LeadPageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(leadLimits.pageMax).default(leadLimits.pageDefault),
  after: z.string().max(200).optional(),
});

/** `GET /api/v1/events/{e}/consents` */
export const ConsentQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(500), after: z.string().max(512).optional() });

/** `GET /api/v1/events/{e}/announcements` */
export const AnnouncementsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

const QueryMillis = z.coerce.number().int().min(0).max(8_640_000_000_000);

/** `GET /api/v1/events/{e}/sponsors/{s}/engagement` */
export const RangeQuery = z.object({ bucket: HeatmapBucket.default('5m'), from: QueryMillis.optional(), to: QueryMillis.optional() });

/** `GET /api/v1/events/{e}/analytics/heatmap` */
export const HeatmapQuery = RangeQuery.extend({ dim: HeatmapDim, sponsor: Id.optional(), exhibitor: Id.optional() });
