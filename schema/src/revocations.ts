import { z } from 'zod';

/** `POST /api/v1/auth/revocations`: end one token (`jti`) or every token of a subject issued until now (`sub`). */
export const RevokeTokenBody = z.union([
  z.strictObject({ jti: z.string().min(1).max(200).regex(/^[^\p{Cc}]+$/u, 'no control characters'), reason: z.string().max(500).optional() }),
  z.strictObject({ sub: z.string().min(1).max(200).regex(/^[^\p{Cc}]+$/u, 'no control characters'), reason: z.string().max(500).optional() }),
]);
export type RevokeTokenBody = z.infer<typeof RevokeTokenBody>;

/** One entry of the revocation list (`revokedAt` in ms since the epoch). */
export const TokenRevocation = z.object({
  kind: z.enum(['jti', 'sub']),
  value: z.string(),
  revokedAt: z.number(),
  revokedBy: z.string(),
  reason: z.string(),
});

/** `GET /api/v1/auth/revocations` */
export const TokenRevocationList = z.object({ revocations: z.array(TokenRevocation) });
