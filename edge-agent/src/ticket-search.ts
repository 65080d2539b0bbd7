/**
 * Lookup for the gate screen: by holder name, email or order code (and ticket code), case-insensitive, by prefix of
 * the field or of any word of the name.
 *
 * No index is built: each lookup walks the roster map with case-insensitive regexes (tens of milliseconds at 100,000
 * tickets, which a person typing never notices), so startup pays nothing and there is no second structure to keep in
 * step with the roster.
 */
import type * as Y from 'yjs';
import { Ticket } from '@opshub/replica';

export interface SearchHit {
  code: string;
  ticket: Ticket;
}

/** Past this many matches the walk stops: the screen shows the first few anyway. */
const SCAN_LIMIT = 500;

export class TicketSearch {
  constructor(private readonly tickets: Y.Map<Ticket>) {}

  /**
   * Up to `limit` tickets matching `query`; exact matches first, then by holder name.
   * @example search.find('lovel') // Ada Lovelace's tickets
   */
  find(query: string, limit = 20): SearchHit[] {
    const q = query.trim();
    if (q.length === 0) return [];
    const escaped = q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // Case-insensitive regexes instead of lowercasing 100,000 names per lookup.
    const fieldPrefix = new RegExp(`^${escaped}`, 'i');
    const wordPrefix = new RegExp(`(?:^|[\\s,.'-])${escaped}`, 'i');
    const exact = new RegExp(`^${escaped}$`, 'i');
    const hits: { code: string; ticket: Partial<Record<keyof Ticket, unknown>>; exact: boolean }[] = [];
    // Y.Map's own iterator allocates per entry; walking its item map directly is several times faster.
    for (const [code, item] of this.tickets._map) {
      if (item.deleted) continue;
      const content = item.content.getContent();
      const ticket = content[content.length - 1] as Partial<Record<keyof Ticket, unknown>> | null;
      if (typeof ticket !== 'object' || ticket === null) continue;
      const holder = typeof ticket.holder === 'string' ? ticket.holder : '';
      const email = typeof ticket.email === 'string' ? ticket.email : '';
      const order = typeof ticket.order === 'string' ? ticket.order : '';
      if (!(fieldPrefix.test(code) || wordPrefix.test(holder) || fieldPrefix.test(email) || fieldPrefix.test(order))) continue;
      hits.push({ code, ticket, exact: exact.test(code) || exact.test(order) || exact.test(email) || exact.test(holder) });
      if (hits.length >= SCAN_LIMIT) break;
    }
    const name = (hit: (typeof hits)[number]): string => (typeof hit.ticket.holder === 'string' ? hit.ticket.holder.toLowerCase() : '');
    hits.sort((a, b) => Number(b.exact) - Number(a.exact) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
    const results: SearchHit[] = [];
    for (const hit of hits) {
      // The roster may come from an untrusted peer: only well-formed tickets are shown.
      const parsed = Ticket.safeParse(hit.ticket);
      if (parsed.success) results.push({ code: hit.code, ticket: parsed.data });
      if (results.length >= limit) break;
    }
    return results;
  }
}
