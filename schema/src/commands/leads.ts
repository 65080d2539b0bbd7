import { z } from 'zod';
import { Id } from '../claims.ts';
import { Lead, LeadNotes, LeadRating, LeadTags, leadLimits } from '../leads.ts';
import type { CommandSpec } from './command-spec.ts';

export const LeadCaptureArgs = z.strictObject({
  event: Id,
  /** the booth scanning; an exhibitor token may only name its own */
  exhibitor: Id,
  /** the badge as scanned: a roster code or a signed ticket token */
  code: z.string().trim().min(1).max(leadLimits.codeChars),
  rating: LeadRating.optional(),
  notes: LeadNotes.optional(),
  tags: LeadTags.optional(),
  /** optional, chosen by the scanner: a retried capture with the same id changes nothing and counts no extra visit */
  scanId: z.string().min(1).max(64).optional(),
});

export const LeadUpdateArgs = z
  .strictObject({
    event: Id,
    exhibitor: Id,
    lead: z.string().min(1).max(64),
    /** null clears the rating */
    rating: LeadRating.nullable().optional(),
    notes: LeadNotes.optional(),
    tags: LeadTags.optional(),
  })
  .refine((a) => a.rating !== undefined || a.notes !== undefined || a.tags !== undefined, { message: 'give at least one of rating, notes, tags' });

/** Leads: booth staff scan attendees' badges and qualify them; the booth, its sponsor and admins watch them arrive. */
export const leadCommands = {
  'lead.capture': {
    summary:
      'Scan an attendee\'s badge at a booth. The first scan of a ticket by an exhibitor creates the lead (`created: true`); a ' +
      'rescan counts a visit on the same lead and applies the rating, notes and tags given (notes and tags replace). ' +
      'Unknown or unverifiable codes are `not_found`. Only the fields the ticket consents to share are returned and ' +
      'published. Recorded in analytics as `lead.captured` / `lead.rescanned` (a booth visit).',
    args: LeadCaptureArgs,
    result: z.object({ lead: Lead, created: z.boolean(), seq: z.number().int() }),
    topic: 'event/{event}/leads/{exhibitor}',
  },
  'lead.update': {
    summary: 'Change a lead\'s rating (0–5, or null to clear), notes or tags. Not a visit. `not_found` for a lead of another booth.',
    args: LeadUpdateArgs,
    result: z.object({ lead: Lead, seq: z.number().int() }),
    topic: 'event/{event}/leads/{exhibitor}',
  },
} as const satisfies Record<string, CommandSpec>;
