/**
 * Offline-valid tickets: a compact JWS signed with the event's Ed25519 key, carrying the ticket itself, so a gate
 * admits a ticket sold after its last sync by checking the signature against the public key in the doc's `meta`.
 * The roster still wins: a code present in the roster (e.g. revoked) is decided from the roster, not the token.
 */
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { z } from 'zod';
import { Id } from '@opshub/schema';
import { Ed25519PublicJwk, Ticket, TicketCode } from './gate-doc.ts';

/** `typ` header of a ticket token, so a hub login token signed by the same key could never pass as a ticket. */
export const TICKET_TOKEN_TYPE = 'opshub-ticket';

export const TicketClaims = z.strictObject({
  event: Id,
  code: TicketCode,
  holder: Ticket.shape.holder,
  type: Ticket.shape.type,
  zones: Ticket.shape.zones,
});
export type TicketClaims = z.infer<typeof TicketClaims>;

/** The token did not verify: malformed, forged, for another event, or no key to check it with. */
export class InvalidTicketTokenError extends Error {
  override readonly name = 'InvalidTicketTokenError';
}

/**
 * A fresh Ed25519 key pair for an event, as JWKs (the public one goes into the doc's `meta.publicKey`).
 * @example const { publicJwk, privateJwk } = await generateEventKeys();
 */
export async function generateEventKeys(): Promise<{ publicJwk: Ed25519PublicJwk; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = Ed25519PublicJwk.parse(await exportJWK(publicKey));
  return { publicJwk, privateJwk: await exportJWK(privateKey) };
}

/**
 * Signs a ticket (box office, hub). The result is a compact JWS: `header.payload.signature`, about 300 characters.
 * @example const token = await signTicket({ event: 'expo', code: 'D-77', holder: 'Ada', type: 'day', zones: [] }, privateJwk);
 */
export async function signTicket(claims: TicketClaims, privateKey: JWK | CryptoKey): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify(TicketClaims.parse(claims)));
  const key = isJwk(privateKey) ? await importJWK(privateKey, 'EdDSA') : privateKey;
  return new CompactSign(payload).setProtectedHeader({ alg: 'EdDSA', typ: TICKET_TOKEN_TYPE }).sign(key);
}

/**
 * Verifies a ticket token offline and returns its claims. Throws {@link InvalidTicketTokenError} when the signature
 * does not verify against `publicJwk`, the token is not a ticket token, or it names another event than `event`.
 * @example const claims = await verifyTicketToken(scanned, meta.publicKey, { event: meta.event });
 */
export async function verifyTicketToken(token: string, publicJwk: Ed25519PublicJwk | undefined, expect: { event: string }): Promise<TicketClaims> {
  if (!publicJwk) throw new InvalidTicketTokenError('no event key to verify ticket tokens with (meta has not synced)');
  let payload: Uint8Array;
  try {
    const key = await importJWK({ ...publicJwk }, 'EdDSA');
    const result = await compactVerify(token, key, { algorithms: ['EdDSA'] });
    if (result.protectedHeader.typ !== TICKET_TOKEN_TYPE) throw new InvalidTicketTokenError(`not a ticket token (typ ${String(result.protectedHeader.typ)})`);
    payload = result.payload;
  } catch (error) {
    if (error instanceof InvalidTicketTokenError) throw error;
    throw new InvalidTicketTokenError(`ticket token does not verify: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  let claims: TicketClaims;
  try {
    claims = TicketClaims.parse(JSON.parse(new TextDecoder().decode(payload)));
  } catch (error) {
    throw new InvalidTicketTokenError('ticket token payload is not a ticket', { cause: error });
  }
  if (claims.event !== expect.event) throw new InvalidTicketTokenError(`ticket token is for event ${claims.event}, not ${expect.event}`);
  return claims;
}

/**
 * Cheap shape test before trying a signature: three base64url segments. Roster codes never look like this.
 * @example if (looksLikeTicketToken(code)) claims = await verifyTicketToken(code, key, { event });
 */
export function looksLikeTicketToken(code: string): boolean {
  return /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{40,}$/.test(code);
}

function isJwk(key: JWK | CryptoKey): key is JWK {
  return typeof (key as JWK).kty === 'string';
}
