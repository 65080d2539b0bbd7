import { getContext, setContext } from 'svelte';
import type { LiveSocket } from '../live/live-socket.svelte.ts';
import type { Session } from '../session.ts';
import { AnnouncementFeed } from './announcement-feed.svelte.ts';

/**
 * One {@link AnnouncementFeed} per event for a signed-in tab. The shell shows announcements on every page (banners,
 * the emergency takeover) and some pages list them too; a connection subscribes to a topic only once, so both read
 * the feed made here.
 * @example const feed = useAnnouncementFeed('expo'); $effect(() => feed.start());
 */
export class AnnouncementFeeds {
  readonly #feeds = new Map<string, AnnouncementFeed>();

  constructor(
    private readonly live: LiveSocket,
    private readonly session: Session,
  ) {}

  feedFor(event: string): AnnouncementFeed {
    let feed = this.#feeds.get(event);
    if (!feed) {
      const { role } = this.session.claims;
      // How many screens showed each announcement is the control room's (the hub refuses the topic to others).
      feed = new AnnouncementFeed({ event, token: this.session.token, live: this.live, limit: 100, counts: role === 'admin' || role === 'staff' });
      this.#feeds.set(event, feed);
    }
    return feed;
  }
}

const key = Symbol('opshub.announcement-feeds');

/** Makes `feeds` the announcement feeds of every component below the caller (the signed-in shell). */
export function provideAnnouncementFeeds(feeds: AnnouncementFeeds): void {
  setContext(key, feeds);
}

/** The shared feed of `event`. Call during component initialisation, below the signed-in shell. */
export function useAnnouncementFeed(event: string): AnnouncementFeed {
  const feeds = getContext<AnnouncementFeeds | undefined>(key);
  if (!feeds) throw new Error('useAnnouncementFeed() outside the signed-in shell');
  return feeds.feedFor(event);
}
