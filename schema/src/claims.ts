import { z } from 'zod';

/** Every role the hub knows. The permission table in `hub/src/auth/permissions.ts` has a column per role. */
export const roles = ['admin', 'staff', 'gate', 'moderator', 'exhibitor', 'sponsor', 'attendee'] as const;
export const Role = z.enum(roles);
export type Role = z.infer<typeof Role>;

/** An identifier used in topics and URLs: no slashes, no whitespace, bounded. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : - only, starting with a letter or digit');

/**
 * The claims a hub token carries.
 * @example { sub: 'ana', role: 'staff', events: ['expo-2026'] }
 */
export const Claims = z.object({
  sub: z.string().min(1).max(200),
  role: Role,
  events: z.array(z.union([Id, z.literal('*')])).min(1).max(1000),
  gate: Id.optional(),
  exhibitor: Id.optional(),
  sponsor: Id.optional(),
  /**
   * Registered claims the hub keeps for the session: expiry (seconds since the epoch; the hub refuses a token without
   * it and closes a socket with 4401 when it passes), issue time and token id (for the revocation list).
   */
  exp: z.number().int().positive().optional(),
  iat: z.number().int().nonnegative().optional(),
  jti: z.string().min(1).max(200).optional(),
});
export type Claims = z.infer<typeof Claims>;

/** True when the claims grant access to `event` (admins carry `["*"]`). */
export function hasEvent(claims: Pick<Claims, 'events'>, event: string): boolean {
  return claims.events.includes('*') || claims.events.includes(event);
}
