/**
 * The admission timeline: who is inside, and which admissions were duplicates, derived from the scans alone.
 *
 * Scans are ordered by (`at`, `scanId`), so every replica holding the same scans computes the same answer whatever
 * order they arrived in. State is kept per ticket: a scan is inserted into its ticket's sorted history (binary
 * search; usually the end, since clocks move forward) and only that ticket is re-folded. A ticket has a handful of
 * scans, so adding one costs O(log k + k) for k scans of that ticket and nothing for the other tickets. A late scan
 * (a gate that was partitioned, with an earlier `at`) lands in its place in the history and the fold corrects the
 * ticket, including its duplicates, which is why changes report duplicates removed as well as added.
 */
import type { ScanRecord } from './gate-doc.ts';

/** Where and when a scan happened. */
export interface ScanRef {
  scanId: string;
  gate: string;
  /** the zone the gate opens into, when the timeline knows gates' zones */
  zone?: string;
  device: string;
  at: number;
}

/** The derived state of one ticket. */
export interface TicketState {
  code: string;
  inside: boolean;
  /** The scan that admitted the current stay, while inside. */
  entry?: ScanRef;
  /** The most recent exit. */
  lastExit?: ScanRef;
  /** Stays: admissions that found the ticket outside. Duplicates are not stays, so an attendee is counted once. */
  stays: number;
  /** Every scan of the ticket, whatever its verdict. */
  scans: number;
}

/**
 * A second admitting `in` without an `out` between, from another device than the admission it repeats.
 * `id` is stable (`first.scanId>second.scanId`), so a consumer can raise exactly one alert per duplicate.
 */
export interface DuplicateAdmission {
  id: string;
  code: string;
  first: ScanRef;
  second: ScanRef;
}

/** What one `add` changed. */
export interface TimelineChange {
  /** Tickets whose history changed. */
  codes: string[];
  duplicatesAdded: DuplicateAdmission[];
  /** Duplicates that a late scan (e.g. an `out` in between) showed were not duplicates. */
  duplicatesRemoved: DuplicateAdmission[];
}

export interface TimelineCounts {
  scans: number;
  /** Tickets with at least one scan. */
  tickets: number;
  inside: number;
  duplicates: number;
}

/** Read access the verdict needs. */
export interface TicketIndex {
  state(code: string): TicketState | undefined;
}

/**
 * Incremental, deterministic admission timeline.
 * @example
 * const timeline = new AdmissionTimeline();
 * timeline.add(scan);
 * timeline.state('T-1001')?.inside; // true after an admitted `in`
 * timeline.duplicates();            // every duplicate admission, once
 */
export class AdmissionTimeline implements TicketIndex {
  private readonly byScanId = new Map<string, ScanRecord>();
  private readonly histories = new Map<string, ScanRecord[]>();
  private readonly states = new Map<string, TicketState>();
  private readonly duplicatesByCode = new Map<string, DuplicateAdmission[]>();
  private readonly allDuplicates = new Map<string, DuplicateAdmission>();
  private insideCount = 0;
  /** tickets inside per zone ('' for a gate whose zone is unknown): what a gate enforces capacity with */
  private readonly insideByZone = new Map<string, number>();

  /**
   * @param zoneOfGate the zone each gate opens into (from the doc's meta). With it, an admitted `in` into another
   *   zone while inside is a move between rooms, not a duplicate admission; without it every gate is one zone.
   */
  constructor(private readonly zoneOfGate: (gate: string) => string | undefined = () => undefined) {}

  /**
   * Adds one scan. Adding a scan id twice is a no-op; two different records with one scan id (a buggy or hostile
   * gate) resolve to the one that sorts first, so replicas still agree.
   * @example const { duplicatesAdded } = timeline.add(scan);
   */
  add(scan: ScanRecord): TimelineChange {
    return this.addMany([scan]);
  }

  /**
   * Adds scans in any order; each touched ticket is re-folded once.
   * @example timeline.addMany(readScans(doc));
   */
  addMany(scans: Iterable<ScanRecord>): TimelineChange {
    const touched = new Set<string>();
    for (const scan of scans) {
      const existing = this.byScanId.get(scan.scanId);
      if (existing) {
        if (!sortsBefore(scan, existing)) continue;
        const history = this.histories.get(existing.code)!;
        history.splice(history.indexOf(existing), 1);
        touched.add(existing.code);
      }
      this.byScanId.set(scan.scanId, scan);
      insertSorted(this.historyOf(scan.code), scan);
      touched.add(scan.code);
    }
    const change: TimelineChange = { codes: [...touched], duplicatesAdded: [], duplicatesRemoved: [] };
    for (const code of change.codes) this.refold(code, change);
    return change;
  }

  /** @example timeline.state('T-1001')?.entry?.gate */
  state(code: string): TicketState | undefined {
    return this.states.get(code);
  }

  /** The ticket's scans in timeline order. */
  history(code: string): readonly ScanRecord[] {
    return this.histories.get(code) ?? [];
  }

  /** Every duplicate admission, ordered by the duplicate scan's (`at`, `scanId`). */
  duplicates(): DuplicateAdmission[] {
    return [...this.allDuplicates.values()].sort((a, b) => compareRefs(a.second, b.second));
  }

  counts(): TimelineCounts {
    return { scans: this.byScanId.size, tickets: this.histories.size, inside: this.insideCount, duplicates: this.allDuplicates.size };
  }

  /** Tickets inside `zone` now, per this timeline (a gate's capacity check reads it for every `in` scan). */
  insideZone(zone: string): number {
    return this.insideByZone.get(zone) ?? 0;
  }

  private bumpZone(zone: string, by: number): void {
    const next = (this.insideByZone.get(zone) ?? 0) + by;
    if (next === 0) this.insideByZone.delete(zone);
    else this.insideByZone.set(zone, next);
  }

  private historyOf(code: string): ScanRecord[] {
    let history = this.histories.get(code);
    if (!history) {
      history = [];
      this.histories.set(code, history);
    }
    return history;
  }

  private refold(code: string, change: TimelineChange): void {
    const history = this.histories.get(code) ?? [];
    if (history.length === 0) this.histories.delete(code);
    const { state, duplicates } = fold(code, history, this.zoneOfGate);
    const before = this.states.get(code);
    this.insideCount += Number(state.inside) - Number(before?.inside ?? false);
    if (before?.inside) this.bumpZone(before.entry?.zone ?? '', -1);
    if (state.inside) this.bumpZone(state.entry?.zone ?? '', 1);
    if (history.length === 0) this.states.delete(code);
    else this.states.set(code, state);

    const previous = this.duplicatesByCode.get(code);
    // Most tickets never have a duplicate: skip the bookkeeping for them (this matters when loading a day of scans).
    if (!previous && duplicates.length === 0) return;
    const next = new Set(duplicates.map((d) => d.id));
    for (const old of previous ?? []) {
      if (next.has(old.id)) continue;
      this.allDuplicates.delete(old.id);
      change.duplicatesRemoved.push(old);
    }
    const previousIds = new Set((previous ?? []).map((d) => d.id));
    for (const duplicate of duplicates) {
      if (previousIds.has(duplicate.id)) continue;
      this.allDuplicates.set(duplicate.id, duplicate);
      change.duplicatesAdded.push(duplicate);
    }
    if (duplicates.length > 0) this.duplicatesByCode.set(code, duplicates);
    else this.duplicatesByCode.delete(code);
  }
}

/**
 * The rules, in one place: an admitted `in` while outside starts a stay; an admitted `in` while inside from another
 * device is a duplicate (from the same device it is a harmless re-scan); an admitted `out` ends the stay. Denied
 * scans (already_in, invalid, …) are history but change nothing.
 */
function fold(code: string, history: readonly ScanRecord[], zoneOfGate: (gate: string) => string | undefined): { state: TicketState; duplicates: DuplicateAdmission[] } {
  const state: TicketState = { code, inside: false, stays: 0, scans: history.length };
  const duplicates: DuplicateAdmission[] = [];
  for (const scan of history) {
    if (scan.verdict !== 'admitted') continue;
    const ref = refOf(scan, zoneOfGate);
    if (scan.dir === 'in') {
      if (!state.inside) {
        state.inside = true;
        state.entry = ref;
        state.stays++;
      } else if (state.entry && ref.zone !== undefined && state.entry.zone !== undefined && ref.zone !== state.entry.zone) {
        // Into another room while inside: a move, still one stay; the attendee is now counted in the new zone.
        state.entry = ref;
      } else if (state.entry && state.entry.device !== scan.device) {
        duplicates.push({ id: `${state.entry.scanId}>${scan.scanId}`, code, first: state.entry, second: ref });
      }
    } else {
      state.inside = false;
      delete state.entry;
      state.lastExit = ref;
    }
  }
  return { state, duplicates };
}

function refOf(scan: ScanRecord, zoneOfGate: (gate: string) => string | undefined): ScanRef {
  const zone = zoneOfGate(scan.gate);
  return { scanId: scan.scanId, gate: scan.gate, device: scan.device, at: scan.at, ...(zone !== undefined ? { zone } : {}) };
}

function compareRefs(a: Pick<ScanRef, 'at' | 'scanId'>, b: Pick<ScanRef, 'at' | 'scanId'>): number {
  if (a.at !== b.at) return a.at - b.at;
  // Plain code-unit comparison, not localeCompare: the order must not depend on the machine's locale.
  return a.scanId < b.scanId ? -1 : a.scanId > b.scanId ? 1 : 0;
}

/** Between two records with the same scan id: the earlier, then the smaller serialisation. */
function sortsBefore(candidate: ScanRecord, existing: ScanRecord): boolean {
  if (candidate.at !== existing.at) return candidate.at < existing.at;
  return canonical(candidate) < canonical(existing);
}

function canonical(scan: ScanRecord): string {
  return JSON.stringify([scan.scanId, scan.code, scan.gate, scan.device, scan.dir, scan.at, scan.verdict]);
}

function insertSorted(history: ScanRecord[], scan: ScanRecord): void {
  let low = 0;
  let high = history.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compareRefs(history[mid]!, scan) <= 0) low = mid + 1;
    else high = mid;
  }
  history.splice(low, 0, scan);
}
