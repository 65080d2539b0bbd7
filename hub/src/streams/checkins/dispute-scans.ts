import type { Kysely } from 'kysely';
import type { ScanRecord } from '@opshub/replica';
import type { Database, SetAsideKind } from '@opshub/schema/db';
import type { GateReplica } from '../../replicas/gate-replica.ts';
import { printable } from '../../store/repos/set-aside-repo.ts';

/** A scan the hub derives no check-in from, and why (it is set aside and alerted on once). */
export interface DisputedScan {
  scan: ScanRecord;
  kind: Extract<SetAsideKind, 'disputed' | 'unknown_gate'>;
  reason: string;
}

const LOOKUP_CHUNK = 1000;

/**
 * The hub's own reading of what gates wrote, before any check-in is derived: a gate decides alone, but the hub does
 * not count what it cannot reproduce.
 * - a scan at a gate the event does not have → `unknown_gate`;
 * - an admitting `in` of a code the roster does not hold, of a ticket revoked before the scan, or into a zone the
 *   ticket does not admit to → `disputed` (a person may really have walked in: the alert names the gate, so staff
 *   can look; the check-in is not counted).
 * Exits and refusals are counted as written: they admit nobody. Revocation is judged by `tickets.revoked_at`
 * against the scan's `at`, so an attendee admitted before a refund stays counted on every hub.
 * @example const { countable, disputed } = await disputeScans(store.db, replica, scans);
 */
export async function disputeScans(db: Kysely<Database>, replica: GateReplica, scans: readonly ScanRecord[]): Promise<{ countable: ScanRecord[]; disputed: DisputedScan[] }> {
  const gates = new Set((replica.meta?.gates ?? []).map((g) => g.id));
  const admissions = scans.filter((s) => s.dir === 'in' && s.verdict === 'admitted' && gates.has(s.gate));
  const tickets = await ticketsOf(db, replica.event, [...new Set(admissions.map((s) => s.code))]);
  const countable: ScanRecord[] = [];
  const disputed: DisputedScan[] = [];
  for (const scan of scans) {
    const problem = !gates.has(scan.gate) ? ({ kind: 'unknown_gate', reason: `the event has no gate ${printable(scan.gate, 64)}` } as const) : admissionProblem(replica, scan, tickets);
    if (problem) disputed.push({ scan, ...problem });
    else countable.push(scan);
  }
  return { countable, disputed };
}

interface TicketFacts {
  zones: string[];
  revokedAt: number | undefined;
}

function admissionProblem(replica: GateReplica, scan: ScanRecord, tickets: Map<string, TicketFacts>): { kind: 'disputed'; reason: string } | undefined {
  if (scan.dir !== 'in' || scan.verdict !== 'admitted') return undefined;
  const ticket = tickets.get(scan.code);
  if (!ticket) return { kind: 'disputed', reason: `gate ${scan.gate} admitted code ${printable(scan.code, 64)}, which the roster does not hold` };
  if (ticket.revokedAt !== undefined && ticket.revokedAt <= scan.at) {
    return { kind: 'disputed', reason: `gate ${scan.gate} admitted ticket ${printable(scan.code, 64)}, revoked at ${new Date(ticket.revokedAt).toISOString()}` };
  }
  const zone = replica.zoneOfGate(scan.gate);
  if (ticket.zones.length > 0 && zone && !ticket.zones.includes(zone)) {
    return { kind: 'disputed', reason: `gate ${scan.gate} admitted ticket ${printable(scan.code, 64)} into zone ${zone}, which it does not admit to` };
  }
  return undefined;
}

async function ticketsOf(db: Kysely<Database>, event: string, codes: readonly string[]): Promise<Map<string, TicketFacts>> {
  const facts = new Map<string, TicketFacts>();
  for (let i = 0; i < codes.length; i += LOOKUP_CHUNK) {
    const rows = await db
      .selectFrom('tickets')
      .select(['code', 'zones', 'status', 'revoked_at'])
      .where('event_id', '=', event)
      .where('code', 'in', codes.slice(i, i + LOOKUP_CHUNK))
      .execute();
    for (const row of rows) {
      // A revoked ticket with no time recorded (revoked before 0008) counts as revoked from the start.
      const revokedAt = row.revoked_at ? new Date(row.revoked_at).getTime() : row.status === 'revoked' ? 0 : undefined;
      facts.set(row.code, { zones: row.zones, revokedAt });
    }
  }
  return facts;
}
