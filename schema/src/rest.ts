import { z } from 'zod';
import { Id } from './claims.ts';
import { TicketTypes } from './commands/box-office.ts';

/** `POST /api/v1/events` body. Gates must name a zone of the same event. */
export const CreateEventBody = z
  .strictObject({
    id: Id,
    name: z.string().trim().min(1).max(200),
    timezone: z.string().min(1).max(64).default('UTC'),
    zones: z
      .array(
        z.strictObject({
          id: Id,
          name: z.string().trim().min(1).max(200),
          capacity: z.number().int().min(0).max(10_000_000),
          /** the door policy at capacity (issue 12): `off` (default), `warn`, `refuse` */
          enforce: z.enum(['off', 'warn', 'refuse']).optional(),
        }),
      )
      .max(500)
      .default([]),
    gates: z.array(z.strictObject({ id: Id, name: z.string().trim().min(1).max(200), zone: Id })).max(500).default([]),
    /** what the box office sells (issue 15): `[{"id","name","price","currency","zones"}]`, price in minor units */
    ticketTypes: TicketTypes.default([]),
  })
  .superRefine((body, ctx) => {
    const zoneIds = new Set(body.zones.map((z) => z.id));
    if (zoneIds.size !== body.zones.length) ctx.addIssue({ code: 'custom', path: ['zones'], message: 'zone ids must be unique' });
    const gateIds = new Set(body.gates.map((g) => g.id));
    if (gateIds.size !== body.gates.length) ctx.addIssue({ code: 'custom', path: ['gates'], message: 'gate ids must be unique' });
    body.gates.forEach((g, i) => {
      if (!zoneIds.has(g.zone)) ctx.addIssue({ code: 'custom', path: ['gates', i, 'zone'], message: `unknown zone "${g.zone}"` });
    });
    body.ticketTypes.forEach((t, i) => {
      for (const zone of t.zones) if (!zoneIds.has(zone)) ctx.addIssue({ code: 'custom', path: ['ticketTypes', i, 'zones'], message: `unknown zone "${zone}"` });
    });
  });
export type CreateEventBody = z.infer<typeof CreateEventBody>;

/**
 * One roster row, from JSON or CSV (`code,holder,email,type,zones`); `zones` is a list, or in CSV a `;` or `|` separated string.
 * An empty zone list means every zone.
 */
export const TicketRow = z.strictObject({
  // Printable, as the gates require of a scanned code (and a NUL is a byte the Store cannot hold).
  code: z.string().trim().min(1).max(512).regex(/^[^\p{Cc}]+$/u, 'no control characters'),
  holder: z.string().trim().max(200).regex(/^[^\p{Cc}]*$/u, 'no control characters').default(''),
  email: z.union([z.literal(''), z.email().max(320)]).default(''),
  type: z.string().trim().max(64).regex(/^[^\p{Cc}]*$/u, 'no control characters').default('general'),
  zones: z
    .union([z.array(Id).max(100), z.string().max(2000)])
    .default([])
    .transform((v) => (Array.isArray(v) ? v : v.split(/[;|]/).map((s) => s.trim()).filter(Boolean))),
});
export type TicketRow = z.infer<typeof TicketRow>;

/** Answer of `POST /api/v1/events/{e}/tickets`. */
export const ImportResult = z.object({
  accepted: z.number().int(),
  rejected: z.array(z.object({ row: z.number().int(), reason: z.string() })),
});
export type ImportResult = z.infer<typeof ImportResult>;

/** REST error body. */
export const ApiError = z.object({ error: z.string(), message: z.string() });

/** True for an IANA time zone name the runtime knows (`Europe/Berlin`, `UTC`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const eventShape = CreateEventBody.shape;

/**
 * `PATCH /api/v1/events/{e}`: any of name, time zone, zones and gates. `zones` and `gates` are the whole new lists:
 * an entry missing from them is removed (refused while it has scans), a new id is added, the rest are updated.
 */
export const PatchEventBody = z
  .strictObject({
    name: eventShape.name.optional(),
    timezone: eventShape.timezone.unwrap().refine(isTimeZone, 'not a time zone this hub knows (IANA names, e.g. Europe/Berlin)').optional(),
    zones: eventShape.zones.unwrap().optional(),
    gates: eventShape.gates.unwrap().optional(),
  })
  .superRefine((body, ctx) => {
    if (body.zones) {
      const ids = new Set(body.zones.map((z) => z.id));
      if (ids.size !== body.zones.length) ctx.addIssue({ code: 'custom', path: ['zones'], message: 'zone ids must be unique' });
    }
    if (body.gates) {
      const ids = new Set(body.gates.map((g) => g.id));
      if (ids.size !== body.gates.length) ctx.addIssue({ code: 'custom', path: ['gates'], message: 'gate ids must be unique' });
    }
    if (Object.keys(body).length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'nothing to change: send name, timezone, zones or gates' });
  });
export type PatchEventBody = z.infer<typeof PatchEventBody>;
