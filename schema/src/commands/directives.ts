import { z } from 'zod';
import { Id } from '../claims.ts';
import type { CommandSpec } from './command-spec.ts';

/**
 * Control-room levers (issue 12): a gate's state and a zone's door policy. Written only by the hub into the gate doc
 * (`directives`), so every gate enforces them from its replica, also while the hub is out of reach.
 */
export const GateStateValue = z.enum(['open', 'hold', 'closed']);
export const EnforceValue = z.enum(['off', 'warn', 'refuse']);

/** `PUT /api/v1/events/{e}/gates/{g}/state` body. */
export const GateStateBody = z.strictObject({
  state: GateStateValue,
  /** shown on the gate screen while on hold or closed */
  message: z.string().trim().max(500).optional(),
});
export type GateStateBody = z.infer<typeof GateStateBody>;

/** `PUT /api/v1/events/{e}/zones/{z}/state` body: only the fields given change. `redirect: null` clears it. */
export const ZoneStateBody = z
  .strictObject({
    full: z.boolean().optional(),
    redirect: Id.nullable().optional(),
    enforce: EnforceValue.optional(),
  })
  .refine((b) => b.full !== undefined || b.redirect !== undefined || b.enforce !== undefined, 'give at least one of full, redirect, enforce');
export type ZoneStateBody = z.infer<typeof ZoneStateBody>;

/** A gate's state as the hub answers and publishes it. */
export const GateState = z.object({ gate: Id, state: GateStateValue, message: z.string().optional(), by: z.string(), at: z.number() });
export type GateState = z.infer<typeof GateState>;

/** A zone's door policy as the hub answers and publishes it. */
export const ZoneState = z.object({ zone: Id, full: z.boolean(), redirect: Id.nullable(), enforce: EnforceValue, by: z.string(), at: z.number() });
export type ZoneState = z.infer<typeof ZoneState>;

/** `GET /api/v1/events/{e}/directives`: every gate's state and zone's policy of the event. */
export const Directives = z.object({ gates: z.array(GateState), zones: z.array(ZoneState) });
export type Directives = z.infer<typeof Directives>;

/** `event/{e}/gates`: a directive changed (beside the presence messages, told apart by `kind`). */
export const GateDirectiveMessage = GateState.extend({ kind: z.literal('gate_state') });
export type GateDirectiveMessage = z.infer<typeof GateDirectiveMessage>;

/** `event/{e}/capacity`: a zone's door policy changed (beside the occupancy messages, told apart by `kind`). */
export const ZoneDirectiveMessage = ZoneState.extend({ kind: z.literal('zone_state') });
export type ZoneDirectiveMessage = z.infer<typeof ZoneDirectiveMessage>;

export const directiveCommands = {
  'gate.state': {
    summary: "Set a gate's state (open, hold, closed) with a message for its screen; audited, written into the gate doc (every replica within a second, through the hub or the mesh) and published on event/{event}/gates as a gate_state message.",
    args: z.strictObject({ event: Id, gate: Id, state: GateStateValue, message: z.string().trim().max(500).optional() }),
    result: GateState,
    topic: 'event/{event}/gates',
  },
  'zone.state': {
    summary: "Set a zone's door policy: full (staff), redirect (another zone or null), enforce (off, warn, refuse); audited, written into the gate doc and published on event/{event}/capacity as a zone_state message.",
    args: z.strictObject({ event: Id, zone: Id, full: z.boolean().optional(), redirect: Id.nullable().optional(), enforce: EnforceValue.optional() }),
    result: ZoneState,
    topic: 'event/{event}/capacity',
  },
} as const satisfies Record<string, CommandSpec>;
