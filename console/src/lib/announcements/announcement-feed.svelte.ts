import { AnnouncementMessage, AnnouncementShownMessage, Id, ShownCounts, topicName } from '@opshub/schema';
import { z } from 'zod';
import { getJson } from '../api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '../live/live-connection.ts';
import type { LiveSocket } from '../live/live-socket.svelte.ts';

/** A row of `GET /api/v1/events/{e}/announcements`. */
const StoredAnnouncement = z.object({
  id: z.string(),
  event: Id,
  text: z.string(),
  level: z.enum(['info', 'warning', 'emergency']),
  createdBy: z.string(),
  createdAt: z.string(),
  holdGates: z.boolean().optional(),
  endedAt: z.string().optional(),
  endedBy: z.string().optional(),
  shown: ShownCounts.optional(),
});

export type Announcement = AnnouncementMessage;
export type { ShownCounts };

/**
 * An event's announcements: the stored ones over REST plus the live topic, merged by id so each shows once whichever
 * path brought it (history replay, live frame, or the refetch after a `reset`); an announcement published again
 * (an emergency ended) replaces the earlier copy. For admin and staff (`counts`) it also follows how many screens
 * showed each (`event/{e}/announcements/shown`).
 *
 * One feed per event and tab, shared (see announcement-feeds.svelte.ts): the shell's banners and takeover and the
 * page's list read the same one, since a connection subscribes to a topic once. `start()` is counted: the topic is
 * followed while anyone holds it.
 *
 * The REST list is read once the subscription is live, so nothing published between the two is missed; the
 * subscription starts with the last 50 retained messages, which also covers an announcement published just before
 * its transaction committed (it is in the bus history, even if the first REST read did not see its row yet).
 */
export class AnnouncementFeed implements TopicSink {
  /** newest first */
  items: Announcement[] = $state.raw([]);
  /** how many screens showed each announcement, by id (admin and staff) */
  shown: Record<string, ShownCounts> = $state.raw({});
  error: string | undefined = $state();
  loaded = $state(false);
  /** the newest emergency the control room has not ended: every screen shows it until then */
  readonly emergency: Announcement | undefined = $derived(this.items.find((a) => a.level === 'emergency' && a.endedAt === undefined));
  readonly #byId = new Map<string, Announcement>();
  #subscriptions: Subscription[] = [];
  #holders = 0;

  constructor(
    private readonly deps: { event: string; token: string; live: LiveSocket; fetch?: typeof fetch; limit?: number; counts?: boolean },
  ) {}

  /** True when this feed follows the screen counts (the token is admin or staff). */
  get counts(): boolean {
    return this.deps.counts === true;
  }

  /** Starts following the topic (if nobody else holds it already); returns a function that lets go of it. */
  start(): () => void {
    if (this.#holders++ === 0) {
      this.#subscriptions.push(this.deps.live.subscribe(topicName({ kind: 'announcements', event: this.deps.event }), this, { last: 50 }));
      if (this.deps.counts) this.#subscriptions.push(this.deps.live.subscribe(topicName({ kind: 'announcements.shown', event: this.deps.event }), this.#countsSink, { last: 200 }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holders > 0) return;
      for (const s of this.#subscriptions.splice(0)) s.close();
    };
  }

  messages(batch: readonly LiveMessage[]): void {
    const fresh: Announcement[] = [];
    for (const message of batch) {
      const parsed = AnnouncementMessage.safeParse(message.data);
      if (parsed.success) fresh.push(parsed.data);
    }
    this.#merge(fresh);
  }

  live(): void {
    if (!this.loaded) void this.refresh();
  }

  reset(): void {
    void this.refresh();
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  /** The counts topic: each message holds one announcement's counts as the Store has them (they only grow). */
  readonly #countsSink: TopicSink = {
    messages: (batch) => {
      const next = { ...this.shown };
      for (const message of batch) {
        const parsed = AnnouncementShownMessage.safeParse(message.data);
        if (parsed.success) next[parsed.data.id] = larger(next[parsed.data.id], parsed.data.shown);
      }
      this.shown = next;
    },
    live: () => {},
    reset: () => void this.refresh(),
    refused: () => {},
  };

  async refresh(): Promise<void> {
    const limit = this.deps.limit ?? 50;
    try {
      const rows = await getJson(
        this.deps.fetch ?? fetch,
        `/api/v1/events/${encodeURIComponent(this.deps.event)}/announcements?limit=${limit}`,
        this.deps.token,
        z.array(StoredAnnouncement),
      );
      this.#merge(
        rows.map((r) => ({
          id: r.id,
          event: r.event,
          text: r.text,
          level: r.level,
          by: r.createdBy,
          at: Date.parse(r.createdAt),
          ...(r.holdGates ? { holdGates: true } : {}),
          ...(r.endedAt ? { endedAt: Date.parse(r.endedAt), endedBy: r.endedBy ?? '' } : {}),
        })),
      );
      const counts = rows.filter((r) => r.shown);
      if (counts.length > 0) {
        const next = { ...this.shown };
        for (const r of counts) next[r.id] = larger(next[r.id], r.shown!);
        this.shown = next;
      }
      this.loaded = true;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  #merge(list: readonly Announcement[]): void {
    let changed = false;
    for (const a of list) {
      const known = this.#byId.get(a.id);
      // Once ended, an announcement stays ended whichever copy arrives later (a replayed first message, a stale REST row).
      if (known && (known.endedAt !== undefined || a.endedAt === undefined)) continue;
      this.#byId.set(a.id, a);
      changed = true;
    }
    if (changed) this.items = [...this.#byId.values()].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
  }
}

/** Counts only grow: of two readings (a REST row and a topic message, in either order), keep the larger of each. */
function larger(a: ShownCounts | undefined, b: ShownCounts): ShownCounts {
  if (!a) return b;
  return { gates: Math.max(a.gates, b.gates), audience: Math.max(a.audience, b.audience), projectors: Math.max(a.projectors, b.projectors), consoles: Math.max(a.consoles, b.consoles) };
}
