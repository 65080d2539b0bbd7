import { z } from 'zod';
import { ShownCounts } from './commands/announcements.ts';
import { TicketType } from './commands/box-office.ts';
import { Id } from './claims.ts';
import { AlertMessage, ZoneOccupancy } from './messages.ts';

/**
 * Answers of the REST routes that have no schema of their own elsewhere (the engagement, join and leads answers live
 * beside their messages). The OpenAPI document is generated from these; the console parses with them.
 */

/** `GET /healthz` */
export const Health = z.object({
  ok: z.boolean(),
  bus: z.enum(['memory', 'redis']),
  store: z.enum(['pglite', 'postgres']),
  analytics: z.enum(['chdb', 'clickhouse']),
  /** what is wrong, when `ok` is false */
  problems: z.array(z.string()).optional(),
  /** true while a SIGTERM'd hub drains (`HUB_DRAIN_SECONDS`): a load balancer should send new clients elsewhere */
  draining: z.literal(true).optional(),
});

export const Zone = z.object({ id: Id, name: z.string(), capacity: z.number().int() });
export const Gate = z.object({ id: Id, name: z.string(), zone: Id });

/** `GET /api/v1/events/{e}`: an event with its zones and gates, each sorted by id. Later additions are extra fields. */
export const Event = z.object({
  id: Id,
  name: z.string(),
  /** IANA time zone the console shows times in */
  timezone: z.string(),
  zones: z.array(Zone),
  gates: z.array(Gate),
  /** what the box office sells, prices in minor units */
  ticketTypes: z.array(TicketType),
});
export type Event = z.infer<typeof Event>;

/** `GET /api/v1/events`: the events the token may see, by id. */
export const EventList = z.object({
  events: z.array(z.object({ id: Id, name: z.string(), timezone: z.string(), zones: z.number().int(), gates: z.number().int(), tickets: z.number().int() })),
});
export type EventList = z.infer<typeof EventList>;

const GateTally = z.object({ scans: z.number().int(), admitted: z.number().int(), exits: z.number().int(), denied: z.number().int(), lastScan: z.number().nullable() });

/** `GET /api/v1/events/{e}/checkins/summary` */
export const CheckinSummary = z.object({
  registered: z.number().int(),
  checkedIn: z.number().int(),
  inside: z.number().int(),
  byGate: z.record(z.string(), GateTally),
  byZone: z.record(z.string(), z.object({ inside: z.number().int(), capacity: z.number().int() })),
  duplicates: z.number().int(),
  /** head of `event/{e}/checkins` read under the check-in lock: the figures hold exactly the messages up to it */
  seq: z.number().int(),
  /** the bus epoch `seq` belongs to */
  epoch: z.string(),
});

/** `GET /api/v1/events/{e}/capacity` */
export const CapacityState = z.object({ at: z.number(), zones: z.array(ZoneOccupancy) });

/** `GET /api/v1/events/{e}/alerts` */
export const AlertList = z.array(AlertMessage);

/** `GET /api/v1/events/{e}/announcements` */
export const AnnouncementList = z.array(
  z.object({
    id: z.string(),
    event: Id,
    text: z.string(),
    level: z.enum(['info', 'warning', 'emergency']),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
    /** sent with "hold all gates" (issue 12) */
    holdGates: z.boolean().optional(),
    /** an ended emergency: when and by whom */
    endedAt: z.iso.datetime().optional(),
    endedBy: z.string().optional(),
    /** admin and staff only: how many screens showed it (gate screens, audience pages, projectors, console pages) */
    shown: ShownCounts.optional(),
  }),
);

export const TicketStatus = z.enum(['valid', 'revoked']);

/** `POST /api/v1/events/{e}/tickets/issue` */
export const IssuedTicket = z.object({
  code: z.string(),
  /** compact JWS signed with the event's Ed25519 key: print it as the barcode; gates verify it offline */
  token: z.string(),
  ticket: z.object({ holder: z.string(), email: z.string(), type: z.string(), zones: z.array(z.string()), status: TicketStatus }),
});

/** `POST /api/v1/events/{e}/tickets/{code}/revoke` */
export const TicketStatusChange = z.object({ code: z.string(), status: TicketStatus });
