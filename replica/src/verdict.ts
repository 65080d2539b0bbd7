/**
 * The gate's decision for one scan, from its replica alone.
 */
import type { Direction, Ticket, Verdict } from './gate-doc.ts';
import type { TicketIndex } from './timeline.ts';

/** A ticket ready for a decision: the roster entry (or a verified signed token) with its code. */
export type ResolvedTicket = Ticket & { code: string; source: 'roster' | 'token' };

/** The gate deciding: its id and the zone it opens into (undefined until the event's meta has synced). */
export interface DecidingGate {
  id: string;
  zone?: string;
}

export interface Decision {
  verdict: Verdict;
  /** With `already_in`: where and when the current stay was admitted. */
  already?: { gate: string; device: string; at: number; scanId: string; agoMs: number };
}

/**
 * Decides a scan. Rules, in order:
 * unknown code → `invalid`; direction `out` → `admitted` (an exit is recorded; zones and revocation do not matter
 * for leaving); revoked → `revoked`; the ticket's zones do not include the gate's zone → `wrong_zone` (an empty list admits to
 * every zone; a gate whose zone is not known yet checks no zone); inside the same zone per the replica → `already_in`
 * with where and when; otherwise `admitted`, which also covers re-entry after an `out` and a move into another zone.
 * @example
 * const { verdict, already } = decide(timeline, ticket, { id: 'north', zone: 'hall-a' }, 'in', Date.now());
 */
export function decide(index: TicketIndex, ticket: ResolvedTicket | undefined, gate: DecidingGate, dir: Direction, now: number): Decision {
  if (!ticket) return { verdict: 'invalid' };
  // Leaving is always allowed and always recorded, even on a revoked ticket: occupancy must see the exit.
  if (dir === 'out') return { verdict: 'admitted' };
  if (ticket.status === 'revoked') return { verdict: 'revoked' };
  if (gate.zone !== undefined && ticket.zones.length > 0 && !ticket.zones.includes(gate.zone)) return { verdict: 'wrong_zone' };
  const entry = index.state(ticket.code)?.entry;
  // Inside another zone: a move between rooms (the timeline counts it in the new zone), not a second entry.
  const moving = entry?.zone !== undefined && gate.zone !== undefined && entry.zone !== gate.zone;
  if (entry && !moving) {
    return { verdict: 'already_in', already: { gate: entry.gate, device: entry.device, at: entry.at, scanId: entry.scanId, agoMs: Math.max(0, now - entry.at) } };
  }
  return { verdict: 'admitted' };
}
