/**
 * Turns what a scanner read into a ticket: a roster code, or a signed ticket token verified offline.
 */
import type * as Y from 'yjs';
import { readMeta, readTicket } from './gate-doc.ts';
import { InvalidTicketTokenError, looksLikeTicketToken, verifyTicketToken } from './signed-ticket.ts';
import type { ResolvedTicket } from './verdict.ts';

export interface Resolution {
  /** The ticket code to record in the scan: the token's `code` claim for a verified token, else what was read. */
  code: string;
  /** Undefined when the code is unknown or the token does not verify: the verdict is then `invalid`. */
  ticket?: ResolvedTicket;
  /** Why a token was refused, for logs and the gate screen. */
  problem?: string;
}

/**
 * Resolves a scanned code against the doc. A verified token whose code is in the roster is decided by the roster
 * entry, so a revocation that reached the replica wins over the signature.
 * @example const { code, ticket } = await resolveTicket(doc, scanned);
 */
export async function resolveTicket(doc: Y.Doc, scanned: string): Promise<Resolution> {
  const fromRoster = readTicket(doc, scanned);
  if (fromRoster) return { code: scanned, ticket: { ...fromRoster, code: scanned, source: 'roster' } };
  if (!looksLikeTicketToken(scanned)) return { code: scanned };
  const meta = readMeta(doc);
  try {
    if (!meta) throw new InvalidTicketTokenError('the event meta has not synced yet');
    const claims = await verifyTicketToken(scanned, meta.publicKey, { event: meta.event });
    const listed = readTicket(doc, claims.code);
    if (listed) return { code: claims.code, ticket: { ...listed, code: claims.code, source: 'roster' } };
    return {
      code: claims.code,
      ticket: { code: claims.code, holder: claims.holder, email: '', type: claims.type, zones: claims.zones, status: 'valid', source: 'token' },
    };
  } catch (error) {
    if (!(error instanceof InvalidTicketTokenError)) throw error;
    return { code: scanned, problem: error.message };
  }
}
