import { z } from 'zod';

/**
 * Joining the audience page with a code (issue 5): an attendee exchanges the event's join code for a short-lived
 * attendee token with an opaque random `sub`. REST bodies of `POST /api/v1/events/{e}/join` and of the staff's
 * `GET`/`POST /api/v1/events/{e}/join-code`.
 */

export const joinLimits = Object.freeze({
  /** generated codes avoid look-alikes (0/O, 1/I/L) so a code read off a projector is typed right */
  alphabet: 'ABCDEFGHJKMNPQRSTUVWXYZ23456789',
  /** 31^6 ≈ 8.9e8 codes: with `failures` below, guessing one takes an address decades */
  generatedLength: 6,
  minChars: 6,
  maxChars: 32,
  /** an attendee token lasts a few sessions; joining again after that gives a new identity */
  tokenTtlSeconds: 4 * 3600,
  /**
   * Per client address, across hub processes. Every attempt takes from `attempts` (generous: a whole room behind
   * the venue's one NAT address joins at the start of a talk); a wrong code also takes from `failures`, and an
   * address with no `failures` left is refused before its code is even compared.
   */
  attempts: { burst: 120, intervalMs: 100 },
  failures: { burst: 10, intervalMs: 6_000 },
});

/**
 * A join code as compared and stored: NFKC, upper case, spaces and dashes dropped (people type `k7p-2qx`).
 * @example normalizeJoinCode(' k7p-2qx ') // 'K7P2QX'
 */
export function normalizeJoinCode(raw: string): string {
  return raw.normalize('NFKC').toUpperCase().replace(/[\s-]+/gu, '');
}

/** A join code as typed; normalised, then 6–32 letters and digits. */
export const JoinCode = z
  .string()
  .max(64)
  .transform(normalizeJoinCode)
  .pipe(z.string().regex(new RegExp(`^[A-Z0-9]{${joinLimits.minChars},${joinLimits.maxChars}}$`), `a join code is ${joinLimits.minChars} to ${joinLimits.maxChars} letters and digits`));

/** `POST /api/v1/events/{e}/join` */
export const JoinRequest = z.strictObject({ code: JoinCode });
export type JoinRequest = z.infer<typeof JoinRequest>;

export const JoinResponse = z.object({
  token: z.string(),
  /** the opaque id the token carries: what chat shows moderators as the author, and what a mute names */
  sub: z.string(),
  role: z.literal('attendee'),
  event: z.string(),
  /** ms since the epoch */
  expiresAt: z.number().int(),
});
export type JoinResponse = z.infer<typeof JoinResponse>;

/** `GET`/`POST /api/v1/events/{e}/join-code` (admin, staff, moderator) */
export const JoinCodeState = z.object({
  event: z.string(),
  code: z.string(),
  /** ms since the epoch */
  updatedAt: z.number().int(),
  /** `system` when the hub generated it */
  updatedBy: z.string(),
});
export type JoinCodeState = z.infer<typeof JoinCodeState>;

/** `POST /api/v1/events/{e}/join-code`: set `code`, or omit it for a freshly generated one (rotation). */
export const SetJoinCodeRequest = z.strictObject({ code: JoinCode.optional() });
export type SetJoinCodeRequest = z.infer<typeof SetJoinCodeRequest>;
