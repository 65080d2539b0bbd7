import { RevenueMessage, RevenueSummary, topicName, type RevenueTotals } from '@opshub/schema';
import { getJson } from '$lib/api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';

/** Minutes the chart shows. */
export const REVENUE_WINDOW_MINUTES = 60;

/**
 * Live revenue for the control room (admins and staff: the hub refuses the topic and the summary to anyone else).
 * Every `event/{e}/revenue` message carries the event's totals right after it, so the message with the highest seq is
 * the state; the summary (`GET …/revenue/summary`, with the seq it includes) gives the first state and the per-minute
 * history, and later messages add their amounts to their minute.
 */
export class RevenueModel implements TopicSink {
  totals: RevenueTotals | undefined = $state.raw();
  /** gross and refunds per minute (minute start in ms) */
  minutes: Map<number, { gross: number; refunds: number }> = $state.raw(new Map());
  /** bumped whenever the series change, so the chart redraws once per batch */
  version = $state(0);
  error: string | undefined = $state();
  #seq = -1;
  #pending: RevenueMessage[] = [];
  #loading = false;
  #subscription: Subscription | undefined;

  constructor(private readonly deps: { event: string; token: string; live: LiveSocket; fetch?: typeof fetch }) {}

  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'revenue', event: this.deps.event }), this, 'live');
    return () => this.#subscription?.close();
  }

  live(): void {
    if (this.#seq < 0) void this.refresh();
  }

  reset(): void {
    void this.refresh();
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  messages(batch: readonly LiveMessage[]): void {
    const minutes = new Map(this.minutes);
    let changed = false;
    for (const m of batch) {
      const parsed = RevenueMessage.safeParse(m.data);
      if (!parsed.success) continue;
      if (this.#loading || this.#seq < 0) {
        // Held until the summary says which seq it includes.
        this.#pending.push({ ...parsed.data, seqOf: m.seq } as RevenueMessage & { seqOf: number });
        continue;
      }
      if (m.seq <= this.#seq) continue;
      this.#apply(parsed.data, m.seq, minutes);
      changed = true;
    }
    if (changed) this.#publish(minutes);
  }

  async refresh(): Promise<void> {
    this.#loading = true;
    try {
      const summary = await getJson(this.deps.fetch ?? fetch, `/api/v1/events/${encodeURIComponent(this.deps.event)}/revenue/summary`, this.deps.token, RevenueSummary);
      const minutes = new Map(summary.perMinute.map((m) => [m.at, { gross: m.gross, refunds: m.refunds }]));
      this.totals = summary;
      this.#seq = summary.seq;
      for (const held of this.#pending.splice(0) as (RevenueMessage & { seqOf: number })[]) {
        if (held.seqOf > this.#seq) this.#apply(held, held.seqOf, minutes);
      }
      this.error = undefined;
      this.#publish(minutes);
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    } finally {
      this.#loading = false;
    }
  }

  #apply(message: RevenueMessage, seq: number, minutes: Map<number, { gross: number; refunds: number }>): void {
    this.#seq = seq;
    this.totals = message.totals;
    const minute = Math.floor(message.at / 60_000) * 60_000;
    const bucket = minutes.get(minute) ?? { gross: 0, refunds: 0 };
    minutes.set(minute, message.kind === 'sale' ? { ...bucket, gross: bucket.gross + message.amount } : { ...bucket, refunds: bucket.refunds + message.amount });
  }

  #publish(minutes: Map<number, { gross: number; refunds: number }>): void {
    this.minutes = minutes;
    this.version++;
  }
}
