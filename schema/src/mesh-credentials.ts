import { z } from 'zod';
import { Id } from './claims.ts';

/** A 32-byte key as base64url (43 characters). */
export const MeshKeyText = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte base64url key');

/**
 * What pairing gives a gate laptop (`POST /api/v1/events/{e}/gates/{g}/mesh-credentials`; the edge agent keeps it in
 * `mesh.json`): the event's mesh key, shared by its gates, and this gate's own scan key.
 */
export const MeshCredentials = z.strictObject({
  event: Id,
  gate: Id,
  /** shared by the event's gates: proves membership of the venue mesh */
  meshKey: MeshKeyText,
  /** this gate's own: the MAC on each scan it records */
  scanKey: MeshKeyText,
});
export type MeshCredentials = z.infer<typeof MeshCredentials>;
