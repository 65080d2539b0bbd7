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
  /** attendees whose latest admitted scan is an `in` */
  inside: number;
  /** duplicate admissions */
  duplicates: number;
  byGate: Record<string, GateTally>;
}

/**
 * The summary endpoint's figures moved forward by check-in messages, with the summary's definitions:
 * `checkedIn` counts a ticket once however often it re-enters; `inside` goes up on an admitted `in` and down on an
 * admitted `out`; a duplicate admission adds to `duplicates`, never to `checkedIn` or `inside`.
 *
 * The tally only remembers tickets it has seen, so a re-entry by someone admitted before the page loaded counts once
 * more than the summary would; the control room heals that by adopting a fresh summary whenever the stream is quiet.
 * @example const tally = new CheckinTally(); tally.adopt(summary); tally.apply(message); tally.figures.checkedIn
 */
export class CheckinTally {
  figures: Figures = { registered: 0, checkedIn: 0, inside: 0, duplicates: 0, byGate: {} };
  readonly #admitted = new Set<string>();

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
    if (m.dir === 'in' && m.verdict === 'admitted') this.#admitted.add(m.code);
  }

  /** Moves the figures by one scan the summary did not include. */
  apply(m: CheckinMessage): void {
    const f = this.figures;
    const gate = (f.byGate[m.gate] ??= { scans: 0, admitted: 0, exits: 0, denied: 0, lastScan: undefined });
    gate.scans++;
    gate.lastScan = Math.max(gate.lastScan ?? 0, m.at);
    if (m.verdict !== 'admitted') {
      gate.denied++;
    } else if (m.dir === 'out') {
      gate.exits++;
      f.inside = Math.max(0, f.inside - 1);
    } else {
      gate.admitted++;
      if (m.duplicate) {
        f.duplicates++;
      } else {
        if (!this.#admitted.has(m.code)) f.checkedIn++;
        f.inside++;
      }
    }
    this.observe(m);
  }
}
