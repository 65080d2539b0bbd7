import { createHmac } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * The per-event secret the venue mesh's keys derive from (see `@opshub/replica/mesh-auth`): an HMAC of the seed of
 * the event's Ed25519 signing key, which every hub reads from the Store and no gate ever receives. Deriving it
 * rather than storing another secret keeps one key per event to guard (and to rotate: a new signing key re-pairs
 * every gate).
 * @example const secret = meshSecretOf((await eventKeys(db, 'expo')).privateJwk);
 */
export function meshSecretOf(privateJwk: JWK): Uint8Array {
  if (typeof privateJwk.d !== 'string') throw new Error('the event key has no private part');
  return createHmac('sha256', Buffer.from(privateJwk.d, 'base64url')).update('opshub/event-mesh-secret/v1').digest();
}
