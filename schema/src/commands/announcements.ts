import { z } from 'zod';
import { Id } from '../claims.ts';
import type { CommandSpec } from './command-spec.ts';

export const AnnouncementLevel = z.enum(['info', 'warning', 'emergency']);

export const AnnounceSendArgs = z
  .strictObject({
    event: Id,
    text: z.string().trim().min(1).max(2000),
    level: AnnouncementLevel,
    /** "hold all gates" (issue 12): every gate of the event goes to `hold` with the text as its message, in the same audited action */
    holdGates: z.boolean().optional(),
  })
  .refine((a) => !a.holdGates || a.level === 'emergency', { message: 'holdGates goes only with level "emergency"', path: ['holdGates'] });

/** Where an announcement was shown: the kinds of screen the hub counts (issue 12). `gate` is counted from the gates' presence, never from `announce.shown`. */
export const ScreenKind = z.enum(['gate', 'audience', 'projector', 'console']);
export type ScreenKind = z.infer<typeof ScreenKind>;

/** A page instance's id for `announce.shown`: random per tab, so a page that shows an announcement twice counts once. */
export const ScreenClientId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8–64 letters, digits, _ or -');

/** How many distinct screens showed one announcement, by kind, counted by the hub across every hub process. */
export const ShownCounts = z.object({ gates: z.number().int(), audience: z.number().int(), projectors: z.number().int(), consoles: z.number().int() });
export type ShownCounts = z.infer<typeof ShownCounts>;

/** Announcements: staff tell everyone at the event something; `emergency` is the broadcast the console confirms. */
export const announcementCommands = {
  'announce.send': {
    summary:
      'Store an announcement, publish it on event/{event}/announcements, write it into the gate doc for the gate screens and record it in analytics. With holdGates (emergency only), every gate of the event is put on hold in the same transaction (audited per gate, published on event/{event}/gates); `held` names them.',
    args: AnnounceSendArgs,
    result: z.object({ id: z.string(), seq: z.number().int(), held: z.array(Id).optional() }),
    topic: 'event/{event}/announcements',
  },
  'announce.end': {
    summary:
      'End an emergency: every screen drops its takeover. Audited; the announcement is published again on event/{event}/announcements with endedAt and endedBy. With reopenGates, every gate on hold is opened in the same transaction. An announcement already ended is a conflict.',
    args: z.strictObject({ event: Id, id: z.string().min(1).max(64), reopenGates: z.boolean().optional() }),
    result: z.object({ id: z.string(), endedAt: z.number(), reopened: z.array(Id).optional() }),
    topic: 'event/{event}/announcements',
  },
  'announce.shown': {
    summary:
      'A page tells the hub it showed these announcements (audience page, projector, console page; gate screens report through their agent). Each (announcement, screen, client) counts once; the counts go out on event/{event}/announcements/shown. Ids that are not announcements of the event are skipped.',
    args: z.strictObject({ event: Id, ids: z.array(z.string().min(1).max(64)).min(1).max(20), screen: ScreenKind.exclude(['gate']), client: ScreenClientId }),
    result: z.object({ recorded: z.number().int() }),
    topic: 'event/{event}/announcements/shown',
    // The counts go out coalesced, after the views are stored; a page's report is not refused while the bus is down.
    publishesSometimes: true,
  },
} as const satisfies Record<string, CommandSpec>;

/**
 * `event/{e}/announcements` message data. An announcement is published again, with the same `id`, when it changes
 * (an emergency ended): consumers keep the latest by `id`.
 */
export const AnnouncementMessage = z.object({
  id: z.string(),
  event: Id,
  text: z.string(),
  level: AnnouncementLevel,
  by: z.string(),
  at: z.number(),
  /** sent with "hold all gates" */
  holdGates: z.boolean().optional(),
  /** an emergency that the control room ended (ms), and who ended it */
  endedAt: z.number().optional(),
  endedBy: z.string().optional(),
});
export type AnnouncementMessage = z.infer<typeof AnnouncementMessage>;

/** `event/{e}/announcements/shown` message data (admin, staff): the counts of one announcement, as the Store has them. */
export const AnnouncementShownMessage = z.object({ id: z.string(), event: Id, shown: ShownCounts, at: z.number() });
export type AnnouncementShownMessage = z.infer<typeof AnnouncementShownMessage>;
