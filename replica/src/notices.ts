/**
 * The announcements a gate screen shows (issue 12 item 6), in the gate doc: the active emergency, if any, and the
 * latest few announcements. Written only by the hub, as one entry `announcements` of the root `directives` map
 * (outside `scansById`, so the update guard refuses a gate that writes it), replaced whole when it changes. So a gate
 * shows an emergency that reached it through the venue mesh, or that was sent before it started, with the hub out of
 * reach.
 *
 * Why in the doc and not a socket message: the gate doc is the one channel every gate already keeps in step, through
 * the hub or the mesh, and persists across restarts; an emergency must reach a gate whatever path is up.
 */
import * as Y from 'yjs';
import { z } from 'zod';
import { DirectivesKey } from './directives.ts';

const NoticesEntry = 'announcements';

/** How many recent announcements the doc carries: a gate screen shows the newest it has not dismissed. */
export const RECENT_NOTICES = 5;

/** One announcement as a gate screen needs it. */
export const GateNotice = z.strictObject({
  id: z.string().min(1).max(64),
  text: z.string().max(2000),
  level: z.enum(['info', 'warning', 'emergency']),
  /** when it was sent (ms) */
  at: z.number().int().min(0),
  /** sent with "hold all gates" */
  holdGates: z.literal(true).optional(),
});
export type GateNotice = z.infer<typeof GateNotice>;

/** What the doc holds: the emergency every screen shows until the control room ends it, and the latest announcements (newest first). */
export const DocNotices = z.strictObject({
  emergency: GateNotice.nullable(),
  recent: z.array(GateNotice).max(RECENT_NOTICES),
});
export type DocNotices = z.infer<typeof DocNotices>;

export const noNotices: DocNotices = Object.freeze({ emergency: null, recent: [] });

/**
 * Writes the notices (hub only); nothing is written when they equal the stored ones. Returns whether it wrote.
 * @example writeNotices(doc, { emergency: null, recent: [{ id: 'a1', text: 'Doors open', level: 'info', at }] }, Origin.hub);
 */
export function writeNotices(doc: Y.Doc, notices: DocNotices, origin: unknown = null): boolean {
  const value = DocNotices.parse(notices);
  const map = doc.getMap<unknown>(DirectivesKey);
  if (JSON.stringify(map.get(NoticesEntry)) === JSON.stringify(value)) return false;
  doc.transact(() => map.set(NoticesEntry, value), origin);
  return true;
}

/** The notices in the doc; none when absent or not valid (a doc may come from a peer). */
export function readNotices(doc: Y.Doc): DocNotices {
  const parsed = DocNotices.safeParse(doc.getMap<unknown>(DirectivesKey).get(NoticesEntry));
  return parsed.success ? parsed.data : noNotices;
}

/**
 * Calls `listener` after every transaction that changes the notices entry (the hub's write, or one that reached this
 * replica through the mesh). Returns the function that stops it.
 * @example const stop = onNoticesChange(doc, () => wakeWaitingScreens());
 */
export function onNoticesChange(doc: Y.Doc, listener: () => void): () => void {
  const map = doc.getMap<unknown>(DirectivesKey);
  const observer = (event: Y.YMapEvent<unknown>) => {
    if (event.keysChanged.has(NoticesEntry)) listener();
  };
  map.observe(observer);
  return () => map.unobserve(observer);
}
