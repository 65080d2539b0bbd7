import { AnnouncementMessage, Id, topicName } from '@opshub/schema';
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
});

export type Announcement = AnnouncementMessage;

/**
 * An event's announcements: the stored ones over REST plus the live topic, merged by id so each shows exactly once
 * whichever path brought it (history replay, live frame, or the refetch after a `reset`).
 *
 * The REST list is read once the subscription is live, so nothing published between the two is missed; the
 * subscription starts with the last 50 retained messages, which also covers an announcement published just before
 * its transaction committed (it is in the bus history, even if the first REST read did not see its row yet).
 */
export class AnnouncementFeed implements TopicSink {
  /** newest first */
  items: Announcement[] = $state.raw([]);
  error: string | undefined = $state();
  loaded = $state(false);
  readonly #byId = new Map<string, Announcement>();
  #subscription: Subscription | undefined;

  constructor(
    private readonly deps: { event: string; token: string; live: LiveSocket; fetch?: typeof fetch; limit?: number },
  ) {}

  /** Starts following the topic; returns a function that stops it. */
  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'announcements', event: this.deps.event }), this, { last: 50 });
    return () => this.#subscription?.close();
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

  async refresh(): Promise<void> {
    const limit = this.deps.limit ?? 50;
    try {
      const rows = await getJson(
        this.deps.fetch ?? fetch,
        `/api/v1/events/${encodeURIComponent(this.deps.event)}/announcements?limit=${limit}`,
        this.deps.token,
        z.array(StoredAnnouncement),
      );
      this.#merge(rows.map((r) => ({ id: r.id, event: r.event, text: r.text, level: r.level, by: r.createdBy, at: Date.parse(r.createdAt) })));
      this.loaded = true;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  #merge(list: readonly Announcement[]): void {
    let changed = false;
    for (const a of list) {
      if (this.#byId.has(a.id)) continue;
      this.#byId.set(a.id, a);
      changed = true;
    }
    if (changed) this.items = [...this.#byId.values()].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
  }
}
