import { z } from 'zod';
import { Id } from '../claims.ts';

/**
 * Running an event from the console (issue 13): ticket search and a ticket's page, un-revoking, the audit log and
 * gate pairing. REST queries, bodies and answers; see docs/api.md, "Set-up from the console".
 */

export const setupLimits = Object.freeze({
  /** tickets one search answers */
  searchMax: 100,
  /** scans a ticket's page lists (newest first) */
  ticketScans: 200,
  /** audit rows per page */
  auditPageMax: 500,
  /** a paired gate token lives this long unless asked otherwise; an event day with margin */
  pairingTtlHours: 24,
  pairingTtlHoursMax: 24 * 14,
});

/** `GET /api/v1/events/{e}/tickets?q=` — a code (exact or prefix), part of a name or of an email address. */
export const TicketSearchQuery = z.object({
  q: z.string().trim().max(200).default(''),
  limit: z.coerce.number().int().min(1).max(setupLimits.searchMax).default(25),
});

const TicketStatus = z.enum(['valid', 'revoked']);

/** A roster entry as the console shows it. */
export const TicketSummary = z.object({
  code: z.string(),
  holder: z.string(),
  email: z.string(),
  type: z.string(),
  zones: z.array(z.string()),
  status: TicketStatus,
  /** ms since the epoch; null while valid */
  revokedAt: z.number().nullable(),
  /** the ticket's latest admitted scan is an `in` */
  inside: z.boolean(),
});
export type TicketSummary = z.infer<typeof TicketSummary>;

/** Answer of the ticket search. */
export const TicketList = z.object({ tickets: z.array(TicketSummary), more: z.boolean() });
export type TicketList = z.infer<typeof TicketList>;

/** One scan of a ticket, as the hub recorded it. */
export const TicketScan = z.object({
  scanId: z.string(),
  gate: z.string(),
  zone: z.string(),
  device: z.string(),
  dir: z.enum(['in', 'out']),
  verdict: z.string(),
  duplicate: z.boolean(),
  at: z.number(),
});

/** `GET /api/v1/events/{e}/tickets/{code}`: the ticket, its scans across gates, and its signed code to print. */
export const TicketDetail = TicketSummary.extend({
  orderCode: z.string().nullable(),
  createdAt: z.number(),
  /** compact JWS signed with the event's key: what a printed ticket carries as its QR code */
  token: z.string(),
  scans: z.array(TicketScan),
});
export type TicketDetail = z.infer<typeof TicketDetail>;

const QueryMillis = z.coerce.number().int().min(0).max(8_640_000_000_000);

/** `GET /api/v1/events/{e}/audit` (and `audit.csv`): filters combine with "and"; `before` pages back by id. */
export const AuditQuery = z.object({
  actor: z.string().trim().max(200).optional(),
  /** an action (`ticket.revoke`) or a prefix ending in a dot (`ticket.`) */
  action: z.string().trim().max(100).optional(),
  /** the object acted on (a ticket code, a gate, a device), exactly */
  target: z.string().trim().max(512).optional(),
  from: QueryMillis.optional(),
  to: QueryMillis.optional(),
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(setupLimits.auditPageMax).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditEntry = z.object({
  id: z.number().int(),
  at: z.number(),
  actor: z.string(),
  role: z.string(),
  action: z.string(),
  event: z.string().nullable(),
  target: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** A page of the audit log, newest first; `next` is the `before` of the following page, null at the end. */
export const AuditPage = z.object({ entries: z.array(AuditEntry), next: z.number().int().nullable() });
export type AuditPage = z.infer<typeof AuditPage>;

/** `POST /api/v1/events/{e}/gates/{g}/pairings`: a fresh gate token for one laptop. */
export const PairGateBody = z.strictObject({
  label: z.string().trim().max(100).default(''),
  ttlHours: z.number().int().min(1).max(setupLimits.pairingTtlHoursMax).default(setupLimits.pairingTtlHours),
});

/** A laptop paired with a gate. Its token's `sub` is `device:{id}`; revoking it ends every token of that subject. */
export const PairedDevice = z.object({
  id: z.string(),
  gate: Id,
  label: z.string(),
  createdBy: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  revokedAt: z.number().nullable(),
});
export type PairedDevice = z.infer<typeof PairedDevice>;

/** Answer of pairing: the device, its token (shown once) and the agent's arguments besides the hub's address. */
export const GatePairing = z.object({
  device: PairedDevice,
  token: z.string(),
  /** `opshub-edge` arguments without the token and the hub address (the console adds the address it was served from) */
  args: z.array(z.string()),
});

export const PairedDeviceList = z.object({ devices: z.array(PairedDevice) });
export type GatePairing = z.infer<typeof GatePairing>;
