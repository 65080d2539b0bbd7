import { CheckinMessage, topicName } from '@opshub/schema';
import { CheckinsSummary } from '$lib/api/event-details.ts';
import { getJson } from '$lib/api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';
import { CheckinTally, type Figures } from '$lib/ops/checkin-tally.ts';
import { RateSeries } from '$lib/ops/rate-series.ts';
import { SlidingCount } from '$lib/ops/sliding-count.ts';

export interface RecentScan {
  readonly scanId: string;
  readonly verdict: CheckinMessage['verdict'];
  readonly dir: CheckinMessage['dir'];
  readonly duplicate: boolean;
  /** admitted past zone_full / gate_closed on purpose at the gate */
  readonly override: boolean;
  readonly at: number;
}

const recentPerGate = 6;

/**
 * The check-ins side of the control room: the headline figures, per-gate activity and the rate chart.
 *
 * Exactly-once counting: the figures are the summary endpoint's, moved forward by each `event/{e}/checkins` message
 * the summary does not include. The live layer delivers every message once, in seq order (resuming with `since` and
 * the hub's epoch after a drop, so a reconnect neither misses nor repeats one, and a hub whose seqs restarted
 * answers `reset`). Which messages the summary includes:
 * - when it carries `seq` and `epoch`: exactly those up to `seq`, if the stream is in that epoch. A summary from
 *   another epoch (read across a hub restart) says nothing about the stream's seqs and is read again;
 * - from a hub that sends no `seq`: the messages delivered before it arrived (a message published a moment before
 *   its row is visible can be missed; the quiet re-adoption below heals that).
 * Whatever the stream does not carry (roster changes, a duplicate mark set on an older scan, tickets last seen before
 * the hub's replay window; see CheckinTally) is healed by adopting a fresh summary when the stream has been quiet for
 * a moment, if it is not behind what was delivered.
 * After a `reset` the figures wait for a new summary: messages meanwhile are held, then counted if after its `seq`.
 * The chart and per-gate activity also take the retained history (replayed at subscribe and after a `reset`).
 */
export class CheckinsModel implements TopicSink {
  figures: Figures = $state.raw({ registered: 0, checkedIn: 0, inside: 0, duplicates: 0, byGate: {} });
  /** scans in the last minute, all gates */
  perMinute = $state(0);
  perMinuteByGate: Record<string, number> = $state.raw({});
  recentByGate: Record<string, RecentScan[]> = $state.raw({});
  /** admissions by deliberate override per gate, among the scans this page has seen (the replayed history and live) */
  overridesByGate: Record<string, number> = $state.raw({});
  /** bumps when the chart's arrays changed */
  chartVersion = $state(0);
  loaded = $state(false);
  error: string | undefined = $state();
  /** ms of the last figures adopted from the summary */
  summaryAt = $state(0);

  readonly series: RateSeries;
  readonly #tally = new CheckinTally();
  readonly #rate = new SlidingCount(60_000);
  readonly #rateByGate = new Map<string, SlidingCount>();
  #recent = new Map<string, RecentScan[]>();
  readonly #overrides = new Map<string, number>();
  /** figures include every message up to this seq; 'pending' while the summary they come from is on its way */
  #countFrom: number | 'pending' = 'pending';
  #held: { seq: number; message: CheckinMessage }[] = [];
  #lastSeq = 0;
  /** bumps on every reset: a summary asked for before it describes a stream that is gone */
  #generation = 0;
  #delivered = 0;
  #deliveredAtAdoption = 0;
  #lastMessageAt = 0;
  #fetching = false;
  /**
   * a history replay is under way: the summary waits for it (a summary without `seq` would count replayed messages
   * twice; with `seq` it is merely pointless to read it before the stream is current)
   */
  #replaying = true;
  /** scans already shown in the chart and gate activity (bounded), so a replay after a reset adds nothing twice */
  readonly #seen = new Set<string>();
  #subscription: Subscription | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly deps: { event: string; token: string; live: LiveSocket; fetch?: typeof fetch; quietMs?: number; maxStaleMs?: number },
  ) {
    this.series = new RateSeries({ bucketMs: 10_000, windowMs: 10 * 60_000 }, Date.now());
  }

  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'checkins', event: this.deps.event }), this, 'history');
    this.#timer = setInterval(() => this.#tick(), 1000);
    return () => {
      clearInterval(this.#timer);
      this.#subscription?.close();
    };
  }

  messages(batch: readonly LiveMessage[]): void {
    for (const { seq, data } of batch) {
      const parsed = CheckinMessage.safeParse(data);
      this.#lastSeq = seq;
      if (!parsed.success) continue;
      const m = parsed.data;
      this.#delivered++;
      this.#activity(m);
      if (this.#countFrom === 'pending') {
        // Not observed yet: applying it after the summary must still see its ticket as new.
        this.#held.push({ seq, message: m });
      } else if (seq > this.#countFrom) {
        this.#tally.apply(m);
      } else {
        this.#tally.observe(m);
      }
    }
    this.#lastMessageAt = Date.now();
    this.#publish();
  }

  live(): void {
    // A history replay is complete: everything replayed is older than the summary about to be read.
    this.#replaying = false;
    if (this.#countFrom === 'pending' && !this.#fetching) void this.refresh('full');
  }

  /**
   * The hub could not replay the gap (or restarted: a new epoch). The figures wait for a fresh summary; first the
   * retained history is replayed again so the chart and gate activity fill the gap (seen scans are skipped), and the
   * summary is read once that replay is done, exactly as on first load.
   */
  reset(head: number): void {
    this.#lastSeq = head;
    this.#countFrom = 'pending';
    this.#generation++;
    // Held seqs may be from the epoch that ended; a summary read from now on includes their rows either way.
    for (const { message } of this.#held) this.#tally.observe(message);
    this.#held = [];
    if (this.#replaying) {
      // The replay under way ended in this reset (the hub no longer holds its start, or the stream moved to another
      // epoch): there is nothing more to wait for. Asking again could be answered `reset` again, forever.
      this.#replaying = false;
      if (!this.#fetching) void this.refresh('full');
      return;
    }
    this.#replaying = true;
    this.#subscription?.resume(0);
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  /**
   * Reads the summary. `full`: the figures wait for it (messages meanwhile are held, then counted if after its
   * `seq`). `quiet`: a reconciliation that is dropped if any message arrives while it is fetched.
   */
  async refresh(mode: 'full' | 'quiet'): Promise<void> {
    if (this.#fetching) return;
    this.#fetching = true;
    if (mode === 'full') this.#countFrom = 'pending';
    const deliveredBefore = this.#delivered;
    const generation = this.#generation;
    try {
      const summary = await getJson(
        this.deps.fetch ?? fetch,
        `/api/v1/events/${encodeURIComponent(this.deps.event)}/checkins/summary`,
        this.deps.token,
        CheckinsSummary,
      );
      // Read before a reset: the next one is read once the stream is current again.
      if (generation !== this.#generation) return;
      const streamEpoch = this.#subscription?.epoch;
      // A summary from another epoch than the stream's (read across a hub restart): its seq counts something else.
      // The figures stay pending and the tick reads it again, by when the stream has been reset into the new epoch.
      if (summary.epoch !== undefined && streamEpoch !== undefined && summary.epoch !== streamEpoch) return;
      if (mode === 'quiet') {
        if (this.#countFrom === 'pending') return;
        // Behind the stream: messages after its seq are counted already and adopting it would drop them.
        const behind = summary.seq !== undefined ? summary.seq < this.#lastSeq : this.#delivered !== deliveredBefore;
        if (behind) return;
      }
      this.#tally.adopt(summary);
      const from = summary.seq ?? this.#lastSeq;
      // In seq order, so a held entry and a held exit of one ticket land as they happened.
      for (const { seq, message } of this.#held) {
        if (seq > from) this.#tally.apply(message);
        else this.#tally.observe(message);
      }
      this.#held = [];
      this.#countFrom = from;
      this.#deliveredAtAdoption = this.#delivered;
      this.summaryAt = Date.now();
      this.loaded = true;
      this.error = undefined;
      this.#publish();
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      if (mode === 'full') {
        // Without a summary the figures cannot be trusted; try again shortly (the tick does).
        this.#countFrom = 'pending';
      }
    } finally {
      this.#fetching = false;
    }
  }

  #tick(): void {
    const now = Date.now();
    if (this.series.advance(now)) this.chartVersion++;
    this.perMinute = this.#rate.count(now);
    const byGate: Record<string, number> = {};
    for (const [gate, count] of this.#rateByGate) byGate[gate] = count.count(now);
    this.perMinuteByGate = byGate;
    if (this.#fetching || this.deps.live.state.kind !== 'live') return;
    if (this.#countFrom === 'pending') {
      // Before the first live() the history replay is under way (it reads the first summary itself).
      if (!this.#replaying) void this.refresh('full');
      return;
    }
    const quiet = now - this.#lastMessageAt >= (this.deps.quietMs ?? 2000);
    const changed = this.#delivered !== this.#deliveredAtAdoption;
    const stale = now - this.summaryAt >= (this.deps.maxStaleMs ?? 60_000);
    if (quiet && (changed || stale)) void this.refresh('quiet');
  }

  #activity(m: CheckinMessage): void {
    if (m.correction) {
      // The same scan with its duplicate flag decided again: restate it where it is shown, never add it.
      const list = this.#recent.get(m.gate);
      const index = list?.findIndex((r) => r.scanId === m.scanId) ?? -1;
      if (list && index >= 0) list[index] = { ...list[index]!, duplicate: m.duplicate };
      return;
    }
    if (this.#seen.has(m.scanId)) return;
    this.#seen.add(m.scanId);
    if (this.#seen.size > 200_000) this.#seen.delete(this.#seen.values().next().value!);
    if (this.series.add(m.at, m.verdict === 'admitted' ? 'admitted' : 'refused')) this.chartVersion++;
    this.#rate.add(m.at);
    let gateRate = this.#rateByGate.get(m.gate);
    if (!gateRate) this.#rateByGate.set(m.gate, (gateRate = new SlidingCount(60_000)));
    gateRate.add(m.at);
    if (m.override && m.verdict === 'admitted') this.#overrides.set(m.gate, (this.#overrides.get(m.gate) ?? 0) + 1);
    const list = this.#recent.get(m.gate) ?? [];
    list.unshift({ scanId: m.scanId, verdict: m.verdict, dir: m.dir, duplicate: m.duplicate, override: m.override === true, at: m.at });
    list.sort((a, b) => b.at - a.at);
    if (list.length > recentPerGate) list.length = recentPerGate;
    this.#recent.set(m.gate, list);
  }

  /** One reactive update per batch (the batch is one animation frame's worth). */
  #publish(): void {
    const f = this.#tally.figures;
    this.figures = { ...f, byGate: Object.fromEntries(Object.entries(f.byGate).map(([g, t]) => [g, { ...t }])) };
    this.recentByGate = Object.fromEntries([...this.#recent].map(([g, list]) => [g, [...list]]));
    this.overridesByGate = Object.fromEntries(this.#overrides);
    const now = Date.now();
    this.perMinute = this.#rate.count(now);
    const byGate: Record<string, number> = {};
    for (const [gate, count] of this.#rateByGate) byGate[gate] = count.count(now);
    this.perMinuteByGate = byGate;
  }
}
