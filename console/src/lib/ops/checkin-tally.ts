import type { CheckinMessage } from '@opshub/schema';
import { countOf, type CheckinsSummary } from '../api/event-details.ts';

export interface GateTally {
  scans: number;
  admitted: number;
  exits: number;
  denied: number;
  /** ms since the epoch of the gate's latest scan, when known */
  lastScan: number | undefined;
}

/** The control room's headline figures, with the summary endpoint's meaning for each. */
export interface Figures {
  /** valid tickets */
  registered: number;
  /** attendees admitted at least once */
  checkedIn: number;
  /** attendees whose latest admitted scan is an `in` (a move into another zone keeps them inside) */
  inside: number;
  /** duplicate admissions */
  duplicates: number;
  byGate: Record<string, GateTally>;
}

/**
 * The summary endpoint's figures moved forward by check-in messages, with the summary's definitions:
 * `checkedIn` counts a ticket once however often it re-enters; a ticket is inside when its latest admitted scan (by
 * scan time) is an `in`, so `inside` moves only when that changes: up on an entry, down on an exit, not at all on a
 * move into another zone (an admitted `in` while inside) or on a duplicate admission, which adds to `duplicates`.
 *
 * The tally remembers every ticket it has seen (in the history replayed before the summary, too). About a ticket it
 * has never seen it assumes an `in` is a first entry and an `out` (or a duplicate) follows an entry it never saw:
 * right unless the ticket has scans older than the hub's replay window. What the stream does not carry (those, a
 * duplicate mark the hub sets or clears on an older scan, roster changes) is healed by the fresh summary the
 * control room adopts when the stream is quiet.
 * @example const tally = new CheckinTally(); tally.adopt(summary); tally.apply(message); tally.figures.checkedIn
 */
export class CheckinTally {
  figures: Figures = { registered: 0, checkedIn: 0, inside: 0, duplicates: 0, byGate: {} };
  /** tickets admitted with an `in` at least once */
  readonly #admitted = new Set<string>();
  /** each seen ticket's latest admitted scan: whether it is inside */
  readonly #latest = new Map<string, { at: number; dir: CheckinMessage['dir'] }>();
  /**
   * the `duplicate` flag of each admitted `in` seen, by scan id, as the figures last counted it: a `correction`
   * restates one of these scans, and moves `duplicates` by the difference only (bounded like the console's other
   * per-scan memory; a correction of a scan older than that is healed by the next summary)
   */
  readonly #flagged = new Map<string, boolean>();

  /** Replaces every figure with the summary's. */
  adopt(summary: CheckinsSummary): void {
    const byGate: Record<string, GateTally> = {};
    for (const [gate, value] of Object.entries(summary.byGate)) {
      if (typeof value === 'number') {
        byGate[gate] = { scans: value, admitted: value, exits: 0, denied: 0, lastScan: undefined };
      } else {
        const v = value as Record<string, unknown>;
        const num = (k: string) => (typeof v[k] === 'number' ? (v[k] as number) : 0);
        byGate[gate] = {
          scans: num('scans'),
          admitted: countOf(value, 'checkedIn') ?? 0,
          exits: num('exits'),
          denied: num('denied'),
          lastScan: typeof v.lastScan === 'number' ? v.lastScan : undefined,
        };
      }
    }
    this.figures = {
      registered: summary.registered,
      checkedIn: summary.checkedIn,
      inside: summary.inside,
      duplicates: summary.duplicates,
      byGate,
    };
  }

  /** Remembers a scan the figures already include (history replayed before the summary, say). */
  observe(m: CheckinMessage): void {
    if (m.verdict !== 'admitted') return;
    if (m.dir === 'in') {
      this.#admitted.add(m.code);
      this.#remember(m.scanId, m.duplicate);
    }
    // A restatement is the same scan again: it says nothing new about where the ticket is.
    if (m.correction) return;
    const latest = this.#latest.get(m.code);
    // Scans arrive in seq order, which is not scan-time order (an offline gate syncs late): the latest by `at` wins,
    // as in the summary; a tie goes to the one that arrived last.
    if (!latest || m.at >= latest.at) this.#latest.set(m.code, { at: m.at, dir: m.dir });
  }

  /** Moves the figures by one scan the summary did not include. */
  apply(m: CheckinMessage): void {
    if (m.correction) {
      this.#correct(m);
      return;
    }
    const f = this.figures;
    const gate = (f.byGate[m.gate] ??= { scans: 0, admitted: 0, exits: 0, denied: 0, lastScan: undefined });
    gate.scans++;
    gate.lastScan = Math.max(gate.lastScan ?? 0, m.at);
    if (m.verdict !== 'admitted') {
      gate.denied++;
      return;
    }
    if (m.dir === 'out') {
      gate.exits++;
    } else {
      gate.admitted++;
      // A duplicate's first admission is published before it, so its ticket is counted already (if the tally never
      // saw that admission, it is older than the replay window and in the summary).
      if (m.duplicate) f.duplicates++;
      // The hub says whether this is the ticket's first admission (`first`), exactly as the summary counts; only an
      // older hub leaves it to what this tally has seen, which misses tickets last seen before the replay window.
      else if (m.first ?? !this.#admitted.has(m.code)) f.checkedIn++;
    }
    const wasInside = this.#isInside(m.code) ?? (m.dir === 'out' || m.duplicate);
    this.observe(m);
    const isInside = this.#isInside(m.code);
    if (isInside && !wasInside) f.inside++;
    else if (!isInside && wasInside) f.inside = Math.max(0, f.inside - 1);
  }

  /**
   * A `correction` restates a scan published before (same `scanId`) with its `duplicate` flag decided again: the
   * later admission synced first and looked like an entry, or a late exit showed it was none. It is not a scan: no
   * gate, check-in or inside figure moves; `duplicates` moves by the change of the flag. A scan this tally never saw
   * (before the replay window) was counted by the summary with the opposite flag, which is what the hub corrects.
   */
  #correct(m: CheckinMessage): void {
    const before = this.#flagged.get(m.scanId) ?? !m.duplicate;
    this.#remember(m.scanId, m.duplicate);
    if (before === m.duplicate) return;
    const f = this.figures;
    f.duplicates = Math.max(0, f.duplicates + (m.duplicate ? 1 : -1));
  }

  #remember(scanId: string, duplicate: boolean): void {
    this.#flagged.delete(scanId);
    this.#flagged.set(scanId, duplicate);
    if (this.#flagged.size > 200_000) this.#flagged.delete(this.#flagged.keys().next().value!);
  }

  #isInside(code: string): boolean | undefined {
    const latest = this.#latest.get(code);
    return latest && latest.dir === 'in';
  }
}
