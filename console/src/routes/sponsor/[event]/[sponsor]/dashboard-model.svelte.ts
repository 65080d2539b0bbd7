import { EngagementSeries, Heatmap, LeadMessage, LeadPage, SponsorSummary, topicName, type Exhibitor, type Lead, type Role } from '@opshub/schema';
import { getJson } from '$lib/api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';
import { LeadBook } from './lead-book.ts';

export type HeatmapDim = 'zone' | 'session';
export type Bucket = '1m' | '5m' | '15m';

export interface DashboardScope {
  readonly event: string;
  readonly sponsor: { readonly id: string; readonly name: string };
  /** the booths this token may see: all of the sponsor's, or an exhibitor's own */
  readonly booths: readonly Exhibitor[];
  /** the sponsored sessions; empty for an exhibitor */
  readonly sessions: readonly string[];
  readonly role: Role;
}

/** How often the engine's figures are read again; leads arrive live and need no polling. */
const refreshMs = 15_000;
/** Leads shown in the stream. */
const shown = 50;

/**
 * Everything the sponsor dashboard shows, for one token:
 * - leads: every booth's leads topic (`event/{e}/leads/{x}`), merged with the booth's REST pages into a {@link LeadBook},
 *   so a lead appears the moment the hub publishes it and the KPIs that count leads and ratings follow at once;
 * - visits, unique visitors and session engagement: the sponsor summary, the heatmap and the engagement series from
 *   ClickHouse over REST, read again every 15 s (and when the tab comes back into view).
 *
 * Subscriptions start live and the REST pages are read once a subscription is confirmed: nothing published between
 * the two is missed, and the book keeps the newest version of a lead whichever arrived last.
 */
export class DashboardModel {
  latest: Lead[] = $state.raw([]);
  leadStats = $state.raw({ leads: 0, rated: 0, averageRating: null as number | null });
  /** the id of the lead that arrived last over the live topic, for the page to highlight */
  arrived: string | undefined = $state();
  summary: SponsorSummary | undefined = $state.raw();
  heatmap: Heatmap | undefined = $state.raw();
  engagement: EngagementSeries | undefined = $state.raw();
  dim: HeatmapDim = $state('zone');
  bucket: Bucket = $state('5m');
  error: string | undefined = $state();
  readonly #book = new LeadBook();
  readonly #subscriptions: Subscription[] = [];
  readonly #fetch: typeof fetch;

  constructor(
    readonly scope: DashboardScope,
    private readonly deps: { token: string; live: LiveSocket; fetch?: typeof fetch },
  ) {
    this.#fetch = deps.fetch ?? fetch.bind(globalThis);
  }

  /** Sessions are the sponsor's: an exhibitor's token sees its booth only. */
  get sessionsVisible(): boolean {
    return this.scope.role !== 'exhibitor';
  }

  /** Starts following every booth and polling the figures; returns a function that stops it all. */
  start(): () => void {
    for (const booth of this.scope.booths) {
      this.#subscriptions.push(this.deps.live.subscribe(topicName({ kind: 'leads', event: this.scope.event, exhibitor: booth.id }), this.#sinkFor(booth.id), 'live'));
    }
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), refreshMs);
    const onVisible = () => {
      if (document.visibilityState === 'visible') void this.refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      for (const s of this.#subscriptions.splice(0)) s.close();
    };
  }

  /** Reads the engine's figures again (summary, heatmap, engagement). */
  async refresh(): Promise<void> {
    const { event, sponsor } = this.scope;
    const e = encodeURIComponent(event);
    const s = encodeURIComponent(sponsor.id);
    try {
      const [summary, heatmap, engagement] = await Promise.all([
        this.#get(`/api/v1/events/${e}/sponsors/${s}/summary`, SponsorSummary),
        this.#get(`/api/v1/events/${e}/analytics/heatmap?dim=${this.dim}&bucket=${this.bucket}${this.scope.role === 'exhibitor' ? '' : `&sponsor=${s}`}`, Heatmap),
        this.sessionsVisible ? this.#get(`/api/v1/events/${e}/sponsors/${s}/engagement?bucket=${this.bucket}`, EngagementSeries) : Promise.resolve(undefined),
      ]);
      this.summary = summary;
      this.heatmap = heatmap;
      this.engagement = engagement;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  setView(dim: HeatmapDim, bucket: Bucket): void {
    this.dim = this.sessionsVisible ? dim : 'zone';
    this.bucket = bucket;
    void this.refresh();
  }

  boothName(id: string): string {
    return this.scope.booths.find((b) => b.id === id)?.name ?? id;
  }

  #sinkFor(exhibitor: string): TopicSink {
    let loaded = false;
    const load = async () => {
      try {
        await this.#loadLeads(exhibitor);
        loaded = true;
      } catch (error) {
        this.error = error instanceof Error ? error.message : String(error);
      }
    };
    return {
      messages: (batch: readonly LiveMessage[]) => {
        let changed = false;
        for (const message of batch) {
          const parsed = LeadMessage.safeParse(message.data);
          if (!parsed.success) continue;
          if (this.#book.upsert(parsed.data.lead)) {
            changed = true;
            this.arrived = parsed.data.lead.id;
          }
        }
        if (changed) this.#publish();
      },
      live: () => {
        if (!loaded) void load();
      },
      reset: () => void load(),
      refused: (_code: string, message: string) => {
        this.error = message;
      },
    };
  }

  /** Every page of one booth's leads. */
  async #loadLeads(exhibitor: string): Promise<void> {
    const base = `/api/v1/events/${encodeURIComponent(this.scope.event)}/exhibitors/${encodeURIComponent(exhibitor)}/leads?limit=500`;
    let next: string | null = null;
    do {
      const page: LeadPage = await this.#get(next ? `${base}&after=${encodeURIComponent(next)}` : base, LeadPage);
      if (this.#book.upsertAll(page.leads)) this.#publish();
      next = page.next;
    } while (next);
  }

  #publish(): void {
    this.latest = this.#book.latest(shown);
    this.leadStats = this.#book.stats();
  }

  #get<T>(path: string, schema: Parameters<typeof getJson<T>>[3]): Promise<T> {
    return getJson(this.#fetch, path, this.deps.token, schema);
  }
}
