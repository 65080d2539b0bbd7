import { Id } from '@opshub/schema';

/** One zone or gate row of the editor; `known` rows exist on the hub already (their id cannot change). */
export interface ZoneDraft {
  key: number;
  known: boolean;
  id: string;
  name: string;
  capacity: number;
}
export interface GateDraft {
  key: number;
  known: boolean;
  id: string;
  name: string;
  zone: string;
}
export interface EventDraft {
  id: string;
  name: string;
  timezone: string;
  zones: ZoneDraft[];
  gates: GateDraft[];
}

/**
 * An id from a name, as a person would type it: `Main hall` → `main-hall`, accents dropped, at most 40 characters.
 * @example slug('Hall Ä / North') // 'hall-a-north'
 */
export function slug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
}

/**
 * What is wrong with the draft, in words, before the hub is asked (it checks again). Empty when it can be sent.
 * @example problems({ id: '', name: 'Expo', ... }) // ['the event needs an id']
 */
export function problems(draft: EventDraft): string[] {
  const out: string[] = [];
  if (!Id.safeParse(draft.id).success) out.push('the event needs an id: letters, digits and - _ . : only');
  if (draft.name.trim() === '') out.push('the event needs a name');
  const zoneIds = new Set<string>();
  draft.zones.forEach((z, i) => {
    const label = z.name.trim() || `zone ${i + 1}`;
    if (!Id.safeParse(z.id).success) out.push(`${label}: the id must be letters, digits and - _ . : only`);
    else if (zoneIds.has(z.id)) out.push(`${label}: the id "${z.id}" is used twice`);
    zoneIds.add(z.id);
    if (z.name.trim() === '') out.push(`zone ${i + 1} needs a name`);
    if (!Number.isInteger(z.capacity) || z.capacity < 0) out.push(`${label}: capacity must be a whole number, 0 or more`);
  });
  const gateIds = new Set<string>();
  draft.gates.forEach((g, i) => {
    const label = g.name.trim() || `gate ${i + 1}`;
    if (!Id.safeParse(g.id).success) out.push(`${label}: the id must be letters, digits and - _ . : only`);
    else if (gateIds.has(g.id)) out.push(`${label}: the id "${g.id}" is used twice`);
    gateIds.add(g.id);
    if (g.name.trim() === '') out.push(`gate ${i + 1} needs a name`);
    if (!zoneIds.has(g.zone)) out.push(`${label}: choose the zone it opens into`);
  });
  return out;
}

/** The body the hub takes: `POST /api/v1/events` for a new event, `PATCH /api/v1/events/{e}` for a known one. */
export function toBody(draft: EventDraft) {
  return {
    name: draft.name.trim(),
    timezone: draft.timezone,
    zones: draft.zones.map((z) => ({ id: z.id, name: z.name.trim(), capacity: z.capacity })),
    gates: draft.gates.map((g) => ({ id: g.id, name: g.name.trim(), zone: g.zone })),
  };
}
