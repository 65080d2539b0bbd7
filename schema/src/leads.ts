import { z } from 'zod';
import { Id } from './claims.ts';

/**
 * Exhibitors, sponsors and leads (issue 6): the model as the REST API takes and serves it, the `data` of `msg` frames
 * on `event/{e}/leads/{exhibitor}`, and the analytics answers behind the sponsor dashboard.
 *
 * An exhibitor has a booth (a zone of the event) and belongs to at most one sponsor; a sponsor also sponsors sessions.
 * A lead is one attendee scanned at one booth: a rescan counts a visit on the same lead. What an exhibitor learns about
 * the attendee is what the attendee's ticket consents to share, read when the lead is served, so a consent withdrawn
 * later also stops sharing in exports.
 */

/** Stated limits; the hub enforces exactly these. */
export const leadLimits = Object.freeze({
  notesChars: 2000,
  tags: 20,
  tagChars: 40,
  /** a scanned badge: a roster code or a signed ticket token */
  codeChars: 2048,
  /** leads per JSON page */
  pageMax: 500,
  pageDefault: 100,
});

const Millis = z.number().int();

/** The attendee fields a ticket may consent to share with exhibitors: `name` is the ticket's holder. */
export const ConsentField = z.enum(['name', 'email', 'type']);
export type ConsentField = z.infer<typeof ConsentField>;

// ------------------------------------------------------------------------------------------------------ the model

/** `POST /api/v1/events/{e}/sponsors` (one object or an array): created, or updated in place by `id`. */
export const SponsorBody = z.strictObject({
  id: Id,
  name: z.string().trim().min(1).max(200),
  /** the sessions this sponsor sponsors (session ids as polls, Q&A and chat rooms use them); replaces the list */
  sessions: z.array(Id).max(200).default([]),
});
export type SponsorBody = z.infer<typeof SponsorBody>;

/** `POST /api/v1/events/{e}/exhibitors` (one object or an array): created, or updated in place by `id`. */
export const ExhibitorBody = z.strictObject({
  id: Id,
  name: z.string().trim().min(1).max(200),
  /** the booth: a zone of the event */
  zone: Id,
  /** the sponsor the exhibitor belongs to, or null */
  sponsor: Id.nullable().default(null),
});
export type ExhibitorBody = z.infer<typeof ExhibitorBody>;

/** `POST /api/v1/events/{e}/consents` rows: which fields of the ticket `code` may be shared; replaces the list. */
export const ConsentRow = z.strictObject({
  code: z.string().trim().min(1).max(512),
  fields: z.array(ConsentField).max(ConsentField.options.length),
});
export type ConsentRow = z.infer<typeof ConsentRow>;

export const Exhibitor = z.object({ id: Id, name: z.string(), zone: Id, sponsor: Id.nullable() });
export type Exhibitor = z.infer<typeof Exhibitor>;

export const Sponsor = z.object({
  id: Id,
  name: z.string(),
  sessions: z.array(Id),
  /** the sponsor's exhibitors (only the caller's own booth for an exhibitor token) */
  exhibitors: z.array(Exhibitor),
});
export type Sponsor = z.infer<typeof Sponsor>;

export const Consent = z.object({ code: z.string(), fields: z.array(ConsentField), updatedAt: Millis });
export type Consent = z.infer<typeof Consent>;

// ---------------------------------------------------------------------------------------------------------- leads

export const LeadRating = z.number().int().min(0).max(5);
export const LeadNotes = z.string().max(leadLimits.notesChars);
/** Tags are trimmed; duplicates (ignoring case) are dropped, first spelling kept. */
export const LeadTags = z
  .array(z.string().trim().min(1).max(leadLimits.tagChars))
  .max(leadLimits.tags)
  .transform((tags) => tags.filter((tag, i) => tags.findIndex((t) => t.toLowerCase() === tag.toLowerCase()) === i));

/** The attendee as the exhibitor may see them: only the consented fields are present. */
export const LeadAttendee = z.object({ name: z.string().optional(), email: z.string().optional(), type: z.string().optional() });
export type LeadAttendee = z.infer<typeof LeadAttendee>;

export const Lead = z.object({
  /** opaque; the ticket code is never shared (it is an admission credential) */
  id: z.string(),
  exhibitor: Id,
  attendee: LeadAttendee,
  /** the fields the attendee consented to share, which `attendee` carries */
  shared: z.array(ConsentField),
  /** 0–5, or null when not rated */
  rating: LeadRating.nullable(),
  notes: z.string(),
  tags: z.array(z.string()),
  /** scans of this attendee at this booth: 1 at capture, one more per rescan */
  visits: z.number().int().min(1),
  /** the `sub` of the staff member who first scanned */
  capturedBy: z.string(),
  firstAt: Millis,
  lastAt: Millis,
  updatedAt: Millis,
});
export type Lead = z.infer<typeof Lead>;

/**
 * `event/{e}/leads/{exhibitor}`: a lead as it now stands, after a first scan (`captured`), a rescan (`rescanned`,
 * `visits` grew) or an edit (`updated`). Apply as an upsert by `lead.id`.
 */
export const LeadMessage = z.object({ type: z.enum(['captured', 'rescanned', 'updated']), lead: Lead, at: Millis });
export type LeadMessage = z.infer<typeof LeadMessage>;

/** `GET /api/v1/events/{e}/exhibitors/{x}/leads`: capture order; `next` is the cursor of the following page. */
export const LeadPage = z.object({
  /** head of the leads topic read before the page: subscribe with `since` = this */
  seq: z.number().int(),
  leads: z.array(Lead),
  next: z.string().nullable(),
});
export type LeadPage = z.infer<typeof LeadPage>;

// ------------------------------------------------------------------------------------------------------ analytics

export const HeatmapDim = z.enum(['zone', 'session']);
export const HeatmapBucket = z.enum(['1m', '5m', '15m']);
export const heatmapBucketMs = { '1m': 60_000, '5m': 300_000, '15m': 900_000 } as const satisfies Record<z.infer<typeof HeatmapBucket>, number>;

/** `GET /api/v1/events/{e}/analytics/heatmap`: a rows × columns matrix. */
export const Heatmap = z.object({
  dim: HeatmapDim,
  bucket: HeatmapBucket,
  bucketMs: z.number().int(),
  /** the start of the first column (inclusive) and the end of the last (exclusive), ms, aligned to the bucket */
  from: Millis,
  to: Millis,
  /** the start of each column, ms */
  columns: z.array(Millis),
  /** zone or session ids, with display labels */
  rows: z.array(z.object({ id: z.string(), label: z.string() })),
  /**
   * `zone`: people inside the zone at the end of each bucket (occupancy). `session`: interactions in the bucket
   * (votes + questions + upvotes + chat messages). `values[row][column]`.
   */
  values: z.array(z.array(z.number())),
  /** `zone` only: visits in the bucket (entries into the zone plus badge scans by booth staff there) */
  visits: z.array(z.array(z.number())).optional(),
  /** `session` only: the parts of `values` */
  breakdown: z
    .object({
      votes: z.array(z.array(z.number())),
      questions: z.array(z.array(z.number())),
      upvotes: z.array(z.array(z.number())),
      chats: z.array(z.array(z.number())),
    })
    .optional(),
});
export type Heatmap = z.infer<typeof Heatmap>;

export const SessionEngagement = z.object({
  session: z.string(),
  votes: z.number().int(),
  questions: z.number().int(),
  upvotes: z.number().int(),
  chats: z.number().int(),
  /** the sum of the four */
  interactions: z.number().int(),
});
export type SessionEngagement = z.infer<typeof SessionEngagement>;

export const BoothSummary = z.object({
  id: Id,
  name: z.string(),
  zone: Id,
  /** entries into the booth's zone plus the booth's badge scans (captures and rescans) */
  visits: z.number().int(),
  /** distinct tickets behind `visits` */
  uniqueVisitors: z.number().int(),
  leads: z.number().int(),
  /** leads with a rating */
  rated: z.number().int(),
  /** the mean rating of rated leads, or null */
  averageRating: z.number().nullable(),
});
export type BoothSummary = z.infer<typeof BoothSummary>;

/** `GET /api/v1/events/{e}/sponsors/{s}/summary`. An exhibitor token sees its own booth and no sessions. */
export const SponsorSummary = z.object({
  event: Id,
  sponsor: z.object({ id: Id, name: z.string() }),
  booths: z.array(BoothSummary),
  totals: z.object({
    visits: z.number().int(),
    /** distinct tickets across all the booths (not the sum: one person at two booths counts once) */
    uniqueVisitors: z.number().int(),
    leads: z.number().int(),
    rated: z.number().int(),
    averageRating: z.number().nullable(),
  }),
  sessions: z.array(SessionEngagement),
  engagement: z.object({
    /** interactions per sponsored session (sponsored sessions without any count as zero) */
    sponsoredAverage: z.number(),
    /** interactions per session over every session with engagement in the event */
    eventAverage: z.number(),
    /** sponsoredAverage / eventAverage, or null when the event has no engagement */
    ratio: z.number().nullable(),
    eventSessions: z.number().int(),
  }),
  /**
   * The sponsored sessions' rooms (sessions in the agenda, issue 17): who was in the room (by the gates) and what share
   * of them took part, against every session of the event. Absent for an exhibitor's view.
   */
  attendance: z
    .object({
      sessions: z.array(z.object({ session: z.string(), unique: z.number().int(), peak: z.number().int(), participants: z.number().int(), participation: z.number().nullable() })),
      /** participants over unique attendees, summed over the sponsored sessions; null when none was attended */
      sponsoredParticipation: z.number().nullable(),
      /** the same over every session of the event's agenda */
      eventParticipation: z.number().nullable(),
      /** unique attendees per sponsored session, and per session of the event */
      sponsoredAverageAttendance: z.number(),
      eventAverageAttendance: z.number(),
    })
    .optional(),
});
export type SponsorSummary = z.infer<typeof SponsorSummary>;

/** `GET /api/v1/events/{e}/sponsors/{s}/engagement`: interactions per session per bucket, sponsored vs the event. */
export const EngagementSeries = z.object({
  bucket: HeatmapBucket,
  bucketMs: z.number().int(),
  from: Millis,
  to: Millis,
  columns: z.array(Millis),
  /** interactions in the sponsored sessions per bucket, divided by the number of sponsored sessions */
  sponsored: z.array(z.number()),
  /** interactions in every session per bucket, divided by the number of sessions with engagement in the range */
  event: z.array(z.number()),
  sessions: z.array(z.string()),
});
export type EngagementSeries = z.infer<typeof EngagementSeries>;
