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
  readonly at: number;
}

const recentPerGate = 6;

/**
 * The check-ins side of the control room: the headline figures, per-gate activity and the rate chart.
 *
 * Exactly-once counting: the figures are the summary endpoint's, moved forward by each `event/{e}/checkins` message
 * the summary does not include. The live layer delivers every message once, in seq order (resuming with `since`
 * after a drop, so a reconnect neither misses nor repeats one). Which messages the summary includes:
 * - when the summary carries `seq` (the topic seq it reflects), exactly those up to it;
 * - otherwise the messages delivered before it arrived. Messages are published inside the transaction that writes
 *   their row, so a message can be delivered a moment before its row is visible, and a summary read in that moment
 *   misses it; to heal that (and re-entries by attendees admitted before the page loaded) the model adopts a fresh
 *   summary whenever the stream has been quiet for a moment, unless a message arrived while it was being fetched.
 * The chart and per-gate activity also take the retained history (replayed at subscribe and after a `reset`),
 * which the figures skip.
 */
export class CheckinsModel implements TopicSink {
  figures: Figures = $state.raw({ registered: 0, checkedIn: 0, inside: 0, duplicates: 0, byGate: {} });
  /** scans in the last minute, all gates */
  perMinute = $state(0);
  perMinuteByGate: Record<string, number> = $state.raw({});
  recentByGate: Record<string, RecentScan[]> = $state.raw({});
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
  /** figures include every message up to this seq; 'pending' while the summary they come from is on its way */
  #countFrom: number | 'pending' = 'pending';
  #held: { seq: number; message: CheckinMessage }[] = [];
  #lastSeq = 0;
  #delivered = 0;
  #deliveredAtAdoption = 0;
  #lastMessageAt = 0;
  #fetching = false;
  /** a history replay is under way: the summary must wait for it, or replayed messages would count twice */
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
        this.#held.push({ seq, message: m });
        this.#tally.observe(m);
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
    console.debug('DBG model live', this.#countFrom, this.#replaying);
    // A history replay is complete: everything replayed is older than the summary about to be read.
    this.#replaying = false;
    if (this.#countFrom === 'pending' && !this.#fetching) void this.refresh('full');
  }

  /**
   * The hub could not replay the gap (or restarted). The figures wait for a fresh summary; first the retained
   * history is replayed again so the chart and gate activity fill the gap (seen scans are skipped), and the summary
   * is read once that replay is done, exactly as on first load.
   */
  reset(head: number): void {
    console.debug('DBG model reset', head, this.#countFrom, this.#replaying);
    this.#lastSeq = head;
    this.#countFrom = 'pending';
    if (this.#replaying) return;
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
    try {
      const summary = await getJson(
        this.deps.fetch ?? fetch,
        `/api/v1/events/${encodeURIComponent(this.deps.event)}/checkins/summary`,
        this.deps.token,
        CheckinsSummary,
      );
      if (mode === 'quiet' && (this.#delivered !== deliveredBefore || this.#countFrom === 'pending')) return;
      console.debug('DBG adopt', mode, JSON.stringify({seq: summary.seq, c: summary.checkedIn, last: this.#lastSeq}));
      this.#tally.adopt(summary);
      const from = summary.seq ?? this.#lastSeq;
      for (const { seq, message } of this.#held) if (seq > from) this.#tally.apply(message);
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
      if ((this.loaded || this.error) && !this.#replaying) void this.refresh('full');
      return;
    }
    const quiet = now - this.#lastMessageAt >= (this.deps.quietMs ?? 2000);
    const changed = this.#delivered !== this.#deliveredAtAdoption;
    const stale = now - this.summaryAt >= (this.deps.maxStaleMs ?? 60_000);
    if (quiet && (changed || stale)) void this.refresh('quiet');
  }

  #activity(m: CheckinMessage): void {
    if (this.#seen.has(m.scanId)) return;
    this.#seen.add(m.scanId);
    if (this.#seen.size > 200_000) this.#seen.delete(this.#seen.values().next().value!);
    if (this.series.add(m.at, m.verdict === 'admitted' ? 'admitted' : 'refused')) this.chartVersion++;
    this.#rate.add(m.at);
    let gateRate = this.#rateByGate.get(m.gate);
    if (!gateRate) this.#rateByGate.set(m.gate, (gateRate = new SlidingCount(60_000)));
    gateRate.add(m.at);
    const list = this.#recent.get(m.gate) ?? [];
    list.unshift({ scanId: m.scanId, verdict: m.verdict, dir: m.dir, duplicate: m.duplicate, at: m.at });
    list.sort((a, b) => b.at - a.at);
    if (list.length > recentPerGate) list.length = recentPerGate;
    this.#recent.set(m.gate, list);
  }

  /** One reactive update per batch (the batch is one animation frame's worth). */
  #publish(): void {
    const f = this.#tally.figures;
    this.figures = { ...f, byGate: Object.fromEntries(Object.entries(f.byGate).map(([g, t]) => [g, { ...t }])) };
    this.recentByGate = Object.fromEntries([...this.#recent].map(([g, list]) => [g, [...list]]));
    const now = Date.now();
    this.perMinute = this.#rate.count(now);
    const byGate: Record<string, number> = {};
    for (const [gate, count] of this.#rateByGate) byGate[gate] = count.count(now);
    this.perMinuteByGate = byGate;
  }
}
