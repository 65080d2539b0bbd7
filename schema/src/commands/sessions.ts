/**
 * Sessions as real rooms (issue 17): a talk with a room (a zone of the event), a time, an optional capacity of its own,
 * an overflow room and a sponsor. Q&A (`event/{e}/qa/{session}`), polls (`session`) and chat rooms (`event/{e}/chat/{room}`)
 * that carry a session's id are that session's: the id is the link, so engagement recorded before the session was
 * created attaches to it as soon as it exists.
 *
 * Sessions are REST (see docs/api.md, "Sessions"); the attendance figures come from the gates' scans into the room and
 * the engagement recorded with the session's id, both in ClickHouse.
 */
import { z } from 'zod';
import { Id } from '../claims.ts';

/** Stated limits; the hub enforces exactly these. */
export const sessionLimits = Object.freeze({
  titleChars: 200,
  /** sessions per request */
  perRequest: 500,
  /** a session may last at most this long (a whole day of a track) */
  maxMinutes: 24 * 60,
});

/**
 * A moment: an ISO 8601 date-time with a zone (`2026-06-01T09:00:00Z`, `2026-06-01T11:00:00+02:00`) or epoch
 * milliseconds; parsed to epoch milliseconds.
 */
export const Instant = z
  .union([z.iso.datetime({ offset: true }), z.number().int().min(0).max(8_640_000_000_000)])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)));

const Title = z.string().trim().min(1).max(sessionLimits.titleChars);
/** Seats in the room for this session; absent or null: the room's (zone's) capacity. */
const Capacity = z.number().int().min(1).max(1_000_000);

function timesInOrder(s: { startsAt?: number | undefined; endsAt?: number | undefined }, ctx: z.RefinementCtx): void {
  if (s.startsAt === undefined || s.endsAt === undefined) return;
  if (s.endsAt <= s.startsAt) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'endsAt must be after startsAt' });
  else if (s.endsAt - s.startsAt > sessionLimits.maxMinutes * 60_000) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: `a session lasts at most ${sessionLimits.maxMinutes / 60} hours` });
}

function overflowElsewhere(s: { zone?: string | undefined; overflow?: string | null | undefined }, ctx: z.RefinementCtx): void {
  if (s.overflow && s.zone && s.overflow === s.zone) ctx.addIssue({ code: 'custom', path: ['overflow'], message: 'the overflow room must be another zone than the session\'s room' });
}

/**
 * `POST /api/v1/events/{e}/sessions` (one object or an array): created, or replaced in place by `id`.
 * @example { id: 'keynote', title: 'Opening keynote', zone: 'hall-a', startsAt: '2026-06-01T09:00:00Z', endsAt: '2026-06-01T10:00:00Z', capacity: 400, overflow: 'hall-b', sponsor: 'acme' }
 */
export const SessionBody = z
  .strictObject({
    id: Id,
    title: Title,
    /** the room: a zone of the event, whose gates count who is in it */
    zone: Id,
    startsAt: Instant,
    endsAt: Instant,
    capacity: Capacity.nullable().default(null),
    /** the overflow room: another zone of the event; its gates take the queue when the room is full */
    overflow: Id.nullable().default(null),
    /** the sponsor of the session: a sponsor of the event */
    sponsor: Id.nullable().default(null),
  })
  .superRefine(timesInOrder)
  .superRefine(overflowElsewhere);
export type SessionBody = z.infer<typeof SessionBody>;

export const SessionsBody = z.union([SessionBody, z.array(SessionBody).min(1).max(sessionLimits.perRequest)]);

/** `PATCH /api/v1/events/{e}/sessions/{s}`: the fields given change; `null` clears capacity, overflow or sponsor. */
export const PatchSessionBody = z
  .strictObject({
    title: Title.optional(),
    zone: Id.optional(),
    startsAt: Instant.optional(),
    endsAt: Instant.optional(),
    capacity: Capacity.nullable().optional(),
    overflow: Id.nullable().optional(),
    sponsor: Id.nullable().optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'give at least one field to change' })
  .superRefine(timesInOrder)
  .superRefine(overflowElsewhere);
export type PatchSessionBody = z.infer<typeof PatchSessionBody>;

/** A session as the hub serves it; times as ISO 8601 in UTC. */
export const Session = z.object({
  id: Id,
  title: z.string(),
  zone: Id,
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  /** the session's own capacity, or null: the room's */
  capacity: z.number().int().nullable(),
  overflow: Id.nullable(),
  sponsor: Id.nullable(),
});
export type Session = z.infer<typeof Session>;

/** `GET /api/v1/events/{e}/sessions`: in start order, then id. */
export const SessionList = z.object({ sessions: z.array(Session) });
export type SessionList = z.infer<typeof SessionList>;

/**
 * `GET /api/v1/events/{e}/sessions/{s}/attendance`, from the gates' scans and the engagement recorded with the
 * session's id (ClickHouse). By the gates' rule, a ticket is inside the zone its last admitted `in` scan let it into,
 * until its next admitted scan (an `out`, or an `in` elsewhere).
 */
export const SessionAttendance = z.object({
  session: Id,
  zone: Id,
  /** people inside the room now */
  inRoom: z.number().int(),
  /** the most people inside the room at once between startsAt and endsAt (or now, while it runs) */
  peak: z.number().int(),
  /** distinct tickets inside the room at some moment of the session: inside at its start, or admitted during it */
  unique: z.number().int(),
  /** distinct people who voted in the session's polls, asked in its Q&A or wrote in its chat room */
  participants: z.number().int(),
  /** participants / unique, or null while nobody attended */
  participation: z.number().nullable(),
  voters: z.number().int(),
  askers: z.number().int(),
  chatters: z.number().int(),
  /** the seats counted against: the session's capacity, else the room's */
  capacity: z.number().int(),
  status: z.enum(['upcoming', 'running', 'ended']),
});
export type SessionAttendance = z.infer<typeof SessionAttendance>;
