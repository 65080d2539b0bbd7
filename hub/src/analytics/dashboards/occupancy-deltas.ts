import type { Analytics } from '../analytics.ts';

/** zone → minute start (ms) → how occupancy changed in that minute. */
export type MinuteDeltas = Map<string, Map<number, number>>;

export interface OccupancyDeltasOptions {
  /** Minutes older than this (ms before now) are settled and kept; younger ones are read on every request (120 s). */
  readonly settleMs?: number;
  /** Events whose settled history is kept at once (16); the least recently asked is dropped first. */
  readonly maxEvents?: number;
  readonly now?: () => number;
}

/** One event's settled history: everything before `watermark`. */
interface Settled {
  readonly zonesKey: string;
  watermark: number;
  /** how many scans before `watermark` the deltas were made from: the check for scans that arrived late */
  rows: number;
  readonly deltas: MinuteDeltas;
  /** ticket key → the zone it is inside at `watermark` (absent: outside, or in a zone not in `zonesKey`) */
  readonly inside: Map<string, string>;
}

interface ScanRow {
  tk: string;
  ms: string;
  zone: string;
  inside: number;
}

const minute = 60_000;

/**
 * How occupancy changed per zone and minute, from `zone_scans` (schema/clickhouse/002): +1 for the zone an admitted
 * `in` lets a ticket into, -1 for the zone its previous admitted scan had let it into. Summed from the start, these
 * give the people inside every zone at every minute, by the gates' own rule.
 *
 * The pairing of each scan with the ticket's previous one is the costly part (a window over every scan of the event,
 * hundreds of milliseconds at millions of scans), and dashboards ask every few seconds. So the pairing is done once
 * per event and kept: the settled minutes (older than `settleMs`) as deltas, plus which zone each ticket is inside at
 * the watermark. Each request then only pairs the scans after the watermark with that state: the minutes that
 * became settled since (added to what is kept) and the young tail (computed, not kept).
 *
 * Scans can arrive late (a gate offline for an hour syncs its scans with their real times), which would change the
 * past. Every request first counts the event's scans before the watermark; if that differs from the count the kept
 * deltas were made from, they are rebuilt. Counts and deltas come from the same query, so a scan that lands between
 * two reads is caught by the next request's count.
 *
 * @example
 * const occupancy = new OccupancyDeltas(analytics);
 * const deltas = await occupancy.minuteDeltas('expo', ['hall', 'booth-1'], Date.now());
 */
export class OccupancyDeltas {
  readonly #analytics: Analytics;
  readonly #settleMs: number;
  readonly #maxEvents: number;
  readonly #now: () => number;
  /** insertion order is recency order: the first key is the least recently used */
  readonly #settled = new Map<string, Settled>();
  /** one computation per event at a time: concurrent dashboards share it */
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(analytics: Analytics, options: OccupancyDeltasOptions = {}) {
    this.#analytics = analytics;
    this.#settleMs = options.settleMs ?? 120_000;
    this.#maxEvents = options.maxEvents ?? 16;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Per zone of `zones`, the occupancy change of every minute before `to` that had any. `zones` should be all the
   * event's zones (the kept history is per zone set; callers pick their rows from the answer).
   */
  minuteDeltas(event: string, zones: readonly string[], to: number): Promise<MinuteDeltas> {
    const previous = this.#busy.get(event) ?? Promise.resolve();
    const run = previous.then(
      () => this.#compute(event, zones, to),
      () => this.#compute(event, zones, to),
    );
    this.#busy.set(event, run);
    void run.finally(() => {
      if (this.#busy.get(event) === run) this.#busy.delete(event);
    }).catch(() => undefined);
    return run;
  }

  async #compute(event: string, zones: readonly string[], to: number): Promise<MinuteDeltas> {
    const watermark = Math.floor((this.#now() - this.#settleMs) / minute) * minute;
    const zonesKey = JSON.stringify([...zones].sort());
    let settled = this.#settled.get(event);
    this.#settled.delete(event);
    if (settled && (settled.zonesKey !== zonesKey || settled.watermark > watermark || (await this.#rowsBefore(event, settled.watermark)) !== settled.rows)) settled = undefined;
    settled ??= await this.#build(event, zones, zonesKey, watermark);
    if (settled.watermark < watermark) await this.#advance(event, settled, watermark);
    this.#settled.set(event, settled);
    while (this.#settled.size > this.#maxEvents) this.#settled.delete(this.#settled.keys().next().value!);

    // The answer: the kept minutes before `to`, plus the unsettled tail paired on a copy of the state.
    const answer: MinuteDeltas = new Map();
    for (const [zone, byMinute] of settled.deltas) {
      const copy = new Map<number, number>();
      for (const [m, d] of byMinute) if (m < to) copy.set(m, d);
      answer.set(zone, copy);
    }
    if (to > settled.watermark) {
      const tail = await this.#scans(event, settled.watermark, to);
      pair(tail, new Overlay(settled.inside), answer, new Set(zones));
    }
    return answer;
  }

  /** Pairs every scan before `watermark` in the engine, and reads which zone each ticket is inside there. */
  async #build(event: string, zones: readonly string[], zonesKey: string, watermark: number): Promise<Settled> {
    for (let attempt = 1; ; attempt++) {
      const [deltaRows, insideRows] = await Promise.all([
        this.#analytics.query<{ code: string; minute: string; net: string; scans: string }>(SETTLED_DELTAS, { event, zones: [...zones], watermark }),
        this.#analytics.query<{ tk: string; code: string; rows: string }>(INSIDE_AT, { event, zones: [...zones], watermark }),
      ]);
      const rows = deltaRows.reduce((n, r) => n + Number(r.scans), 0);
      // Nobody inside (any of `zones`) leaves nothing to compare; otherwise the two reads may straddle a late scan: read again.
      const seen = insideRows.length > 0 ? Number(insideRows[0]!.rows) : rows;
      if (rows !== seen && attempt < 3) continue;
      const deltas: MinuteDeltas = new Map();
      for (const r of deltaRows) {
        const zone = zones[Number(r.code) - 1];
        if (zone === undefined || Number(r.net) === 0) continue;
        add(deltas, zone, Number(r.minute), Number(r.net));
      }
      const inside = new Map<string, string>();
      for (const r of insideRows) inside.set(r.tk, zones[Number(r.code) - 1]!);
      return { zonesKey, watermark, rows: rows === seen ? rows : -1, deltas, inside };
    }
  }

  /** Moves the watermark forward, pairing the scans in between with the kept state. */
  async #advance(event: string, settled: Settled, watermark: number): Promise<void> {
    const rows = await this.#scans(event, settled.watermark, watermark);
    pair(rows, settled.inside, settled.deltas, new Set(JSON.parse(settled.zonesKey) as string[]));
    settled.rows += rows.length;
    settled.watermark = watermark;
  }

  async #rowsBefore(event: string, watermark: number): Promise<number> {
    const [row] = await this.#analytics.query<{ n: string }>(
      'SELECT count() AS n FROM zone_scans WHERE event = {event:String} AND ts < fromUnixTimestamp64Milli({watermark:Int64}, \'UTC\')',
      { event, watermark },
    );
    return Number(row?.n ?? 0);
  }

  /** The scans in [from, to), each ticket's in time order. */
  #scans(event: string, from: number, to: number): Promise<ScanRow[]> {
    return this.#analytics.query<ScanRow>(
      `SELECT toString(tk) AS tk, toUnixTimestamp64Milli(ts) AS ms, toString(zone) AS zone, inside FROM zone_scans
       WHERE event = {event:String} AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
       ORDER BY tk, ts`,
      { event, from, to },
    );
  }
}

/**
 * Which of `zones` a scan lets its ticket into, as the zone's position there (1-based), 0 when none: an `out`, or an
 * `in` to a zone not asked about, which counts as outside (no row of the answer, and never a -1 for one).
 *
 * `transform` rather than `indexOf`: on the `LowCardinality` column it maps each block's small dictionary once, where
 * `indexOf` compares every row's string with every zone (measured 5 times slower over 2 million scans, the largest
 * cost of the first heatmap after the window itself).
 */
const HELD = `inside * transform(zone, {zones:Array(String)}, arrayEnumerate({zones:Array(String)}), 0)`;

/**
 * The pairing in the engine: each scan against the ticket's previous one. The table is sorted by ticket, then time, so
 * the window's sort finds its input nearly in order; it is not told to read in storage order, which would keep it on
 * one thread (measured slower on two cores). The window carries one small integer per scan, the zone it holds the
 * ticket in ({@link HELD}): the -1 of a scan is for the zone the previous one held, whatever this one is. `scans`
 * counts the scans read (one +1 entry each, whatever the zone).
 */
const SETTLED_DELTAS = `
SELECT code, minute, sum(delta) AS net, countIf(delta = 1) AS scans
FROM
(
    SELECT
        intDiv(toUnixTimestamp64Milli(ts), 60000) * 60000 AS minute,
        arrayJoin([(held, 1), (previous_held, -1)]) AS change,
        change.1 AS code,
        change.2 AS delta
    FROM
    (
        SELECT ts, held, lagInFrame(held, 1, 0) OVER ticket AS previous_held
        FROM
        (
            SELECT tk, ts, ${HELD} AS held
            FROM zone_scans
            WHERE event = {event:String} AND ts < fromUnixTimestamp64Milli({watermark:Int64}, 'UTC')
        )
        WINDOW ticket AS (PARTITION BY tk ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    )
)
GROUP BY code, minute`;

/**
 * The tickets inside one of `zones` at the watermark (their latest scan before it holds them there), as the zone's
 * position, each row carrying the number of scans read, counted in the same pass (so it can be checked against the
 * deltas' count). The latest scan is taken by `argMax` of the one integer {@link HELD} (half the cost of a tuple of
 * zone and direction).
 */
const INSIDE_AT = `
SELECT tk, code, rows
FROM
(
    SELECT toString(tk) AS tk, argMax(${HELD}, ts) AS code, sum(count()) OVER () AS rows
    FROM zone_scans
    WHERE event = {event:String} AND ts < fromUnixTimestamp64Milli({watermark:Int64}, 'UTC')
    GROUP BY tk
)
WHERE code > 0`;

/** Where each ticket is: a map, or a copy-on-write view of one (for the tail, which must not change what is kept). */
interface InsideMap {
  get(tk: string): string | undefined;
  set(tk: string, zone: string): void;
  delete(tk: string): void;
}

class Overlay implements InsideMap {
  readonly #changes = new Map<string, string | null>();
  constructor(private readonly base: ReadonlyMap<string, string>) {}
  get(tk: string): string | undefined {
    const changed = this.#changes.get(tk);
    return changed === undefined ? this.base.get(tk) : (changed ?? undefined);
  }
  set(tk: string, zone: string): void {
    this.#changes.set(tk, zone);
  }
  delete(tk: string): void {
    this.#changes.set(tk, null);
  }
}

/** The engine's pairing, in JS, for scans already ordered by ticket then time; deltas only for `zones`. */
function pair(rows: readonly ScanRow[], inside: InsideMap, into: MinuteDeltas, zones: ReadonlySet<string>): void {
  for (const row of rows) {
    const m = Math.floor(Number(row.ms) / minute) * minute;
    const before = inside.get(row.tk);
    if (before !== undefined && zones.has(before)) add(into, before, m, -1);
    if (Number(row.inside) === 1) {
      if (zones.has(row.zone)) add(into, row.zone, m, 1);
      inside.set(row.tk, row.zone);
    } else {
      inside.delete(row.tk);
    }
  }
}

function add(deltas: MinuteDeltas, zone: string, m: number, delta: number): void {
  let byMinute = deltas.get(zone);
  if (!byMinute) deltas.set(zone, (byMinute = new Map()));
  const next = (byMinute.get(m) ?? 0) + delta;
  if (next === 0) byMinute.delete(m);
  else byMinute.set(m, next);
}
