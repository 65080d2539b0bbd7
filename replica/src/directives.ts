/**
 * The control room's directives in the gate doc (issue #12): per gate a `state` (`open`, `hold`, `closed`) with a
 * message for the gate screen; per zone `full`, a `redirect` zone and the capacity policy `enforce` (`off`, `warn`,
 * `refuse`). Written only by the hub (root `directives`, outside `scansById`, so the update guard refuses any gate
 * that writes here); read by the gate for every `in` scan, from its replica, also while the hub is out of reach.
 *
 * Keys: `gate:{id}` and `zone:{id}`, each a plain object replaced whole (changes are rare: a handful a day).
 */
import * as Y from 'yjs';
import { z } from 'zod';
import { Id } from '@opshub/schema';

export const DirectivesKey = 'directives';

export const GateDirectiveState = z.enum(['open', 'hold', 'closed']);
export type GateDirectiveState = z.infer<typeof GateDirectiveState>;
export const EnforcePolicy = z.enum(['off', 'warn', 'refuse']);
export type EnforcePolicy = z.infer<typeof EnforcePolicy>;

/** A gate's directive. `at`: when the control room set it (ms). */
export const GateDirective = z.strictObject({
  state: GateDirectiveState,
  message: z.string().max(500).optional(),
  at: z.number().int().min(0),
});
export type GateDirective = z.infer<typeof GateDirective>;

/** A zone's directive: `full` set by staff, where to send people instead, and how capacity is enforced at the door. */
export const ZoneDirective = z.strictObject({
  full: z.boolean(),
  redirect: Id.nullable(),
  enforce: EnforcePolicy,
  at: z.number().int().min(0),
});
export type ZoneDirective = z.infer<typeof ZoneDirective>;

export const defaultGateDirective: GateDirective = Object.freeze({ state: 'open', at: 0 });
export const defaultZoneDirective: ZoneDirective = Object.freeze({ full: false, redirect: null, enforce: 'off', at: 0 });

export interface DocDirectives {
  gates: Record<string, GateDirective>;
  zones: Record<string, ZoneDirective>;
}

function directivesMap(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>(DirectivesKey);
}

/**
 * Writes directives (hub only) in one transaction; entries equal to the stored ones are skipped. Returns how many
 * entries were written.
 * @example writeDirectives(doc, { gates: { north: { state: 'hold', message: 'Wait', at: Date.now() } }, zones: {} }, Origin.hub);
 */
export function writeDirectives(doc: Y.Doc, directives: Partial<DocDirectives>, origin: unknown = null): number {
  const map = directivesMap(doc);
  const entries: [string, unknown][] = [
    ...Object.entries(directives.gates ?? {}).map(([id, d]) => [`gate:${Id.parse(id)}`, GateDirective.parse(d)] as [string, unknown]),
    ...Object.entries(directives.zones ?? {}).map(([id, d]) => [`zone:${Id.parse(id)}`, ZoneDirective.parse(d)] as [string, unknown]),
  ];
  let written = 0;
  doc.transact(() => {
    for (const [key, value] of entries) {
      if (JSON.stringify(map.get(key)) === JSON.stringify(value)) continue;
      map.set(key, value);
      written++;
    }
  }, origin);
  return written;
}

/** The directive of one gate (`open` when none is set, or when the entry is not valid: a doc may come from a peer). */
export function gateDirective(doc: Y.Doc, gate: string): GateDirective {
  const parsed = GateDirective.safeParse(directivesMap(doc).get(`gate:${gate}`));
  return parsed.success ? parsed.data : defaultGateDirective;
}

/** The directive of one zone (not full, no redirect, `off` when none is set). */
export function zoneDirective(doc: Y.Doc, zone: string): ZoneDirective {
  const parsed = ZoneDirective.safeParse(directivesMap(doc).get(`zone:${zone}`));
  return parsed.success ? parsed.data : defaultZoneDirective;
}

/** Every valid directive in the doc. */
export function readDirectives(doc: Y.Doc): DocDirectives {
  const out: DocDirectives = { gates: {}, zones: {} };
  for (const [key, value] of directivesMap(doc).entries()) {
    if (key.startsWith('gate:')) {
      const parsed = GateDirective.safeParse(value);
      if (parsed.success) out.gates[key.slice(5)] = parsed.data;
    } else if (key.startsWith('zone:')) {
      const parsed = ZoneDirective.safeParse(value);
      if (parsed.success) out.zones[key.slice(5)] = parsed.data;
    }
  }
  return out;
}

/** Calls `listener` after every change of the directives (any origin). Returns the unsubscribe function. */
export function observeDirectives(doc: Y.Doc, listener: () => void): () => void {
  const map = directivesMap(doc);
  const handler = () => listener();
  map.observe(handler);
  return () => map.unobserve(handler);
}

/** What the door decides from the directives, for an `in` scan that would otherwise be admitted. */
export type DoorRule =
  | { verdict: 'gate_closed'; message?: string }
  | { verdict: 'zone_full'; redirect?: string; message?: string }
  | { verdict: 'admitted'; warning?: string };

/**
 * Applies the gate's and its zone's directives to an admission. `inside`: the zone's occupancy in this replica.
 * @example const rule = doorRule(doc, 'north', { id: 'hall', capacity: 1200 }, inside);
 */
export function doorRule(doc: Y.Doc, gate: string, zone: { id: string; capacity: number } | undefined, inside: number): DoorRule {
  const g = gateDirective(doc, gate);
  if (g.state !== 'open') return { verdict: 'gate_closed', ...(g.message ? { message: g.message } : {}) };
  if (!zone) return { verdict: 'admitted' };
  const z = zoneDirective(doc, zone.id);
  const redirect = z.redirect ?? undefined;
  if (z.full) return { verdict: 'zone_full', ...(redirect ? { redirect } : {}), message: 'the zone is marked full' };
  const reached = zone.capacity > 0 && inside >= zone.capacity;
  if (reached && z.enforce === 'refuse') return { verdict: 'zone_full', ...(redirect ? { redirect } : {}), message: `capacity reached: ${inside} / ${zone.capacity}` };
  if (reached && z.enforce === 'warn') return { verdict: 'admitted', warning: `over capacity: ${inside} / ${zone.capacity}` };
  return { verdict: 'admitted' };
}
