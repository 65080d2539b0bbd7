import { topicName, type AnnouncementShownMessage } from '@opshub/schema';
import type { Bus } from '../../bus/bus.ts';
import type { Logger } from '../../log.ts';
import { recordViews, shownCounts, type AnnouncementView } from '../../store/repos/announcement-views-repo.ts';
import { advisoryXactLock, lockSpace } from '../../store/repos/locks.ts';
import type { Store } from '../../store/store.ts';
import { Coalescer } from '../polls/coalescer.ts';

/**
 * Which screens showed which announcement (issue 12 item 6), counted by the hub: views are written to the Store in
 * batches (an emergency makes thousands of audience pages report within a second; one insert per batch, not per
 * page), and each announcement whose count grew is published on `event/{e}/announcements/shown` at most every
 * `intervalMs` per hub, read from the Store (every hub's views together) under a lock the hubs share, so a later
 * message never shows fewer than an earlier one.
 * @example const views = new ScreenViews({ store, bus, log }); await views.record([{ event, id, screen: 'audience', client }]);
 */
export class ScreenViews {
  readonly #deps: { store: Store; bus: Bus; log: Logger };
  readonly #figures: Coalescer;
  readonly #batchMs: number;
  #queued: AnnouncementView[] = [];
  #batch: Promise<Set<string>> | undefined;

  constructor(deps: { store: Store; bus: Bus; log: Logger; intervalMs?: number; batchMs?: number }) {
    this.#deps = deps;
    this.#batchMs = deps.batchMs ?? 50;
    this.#figures = new Coalescer({
      intervalMs: deps.intervalMs ?? 250,
      onError: (err, key) => deps.log.warn({ err, key }, 'announcement view counts not published; retrying'),
      flush: async (key) => {
        const [event, id] = JSON.parse(key) as [string, string];
        await deps.store.db.transaction().execute(async (trx) => {
          await advisoryXactLock(trx, lockSpace.announcementViews, id, 'exclusive');
          const shown = (await shownCounts(trx, [id])).get(id)!;
          const message: AnnouncementShownMessage = { id, event, shown, at: Date.now() };
          await deps.bus.publish(topicName({ kind: 'announcements.shown', event }), message);
        });
        return undefined;
      },
    });
  }

  /**
   * Records views; resolves, once the batch they joined is stored, with how many of them name an announcement of
   * their event (the others are skipped).
   */
  async record(views: readonly AnnouncementView[]): Promise<number> {
    if (views.length === 0) return 0;
    this.#queued.push(...views);
    const known = await (this.#batch ??= this.#flushSoon());
    return views.filter((v) => known.has(`${v.event}/${v.id}`)).length;
  }

  #flushSoon(): Promise<Set<string>> {
    return new Promise<void>((resolve) => setTimeout(resolve, this.#batchMs).unref()).then(async () => {
      this.#batch = undefined;
      const views = this.#queued;
      this.#queued = [];
      const { touched, known } = await recordViews(this.#deps.store.db, views);
      for (const t of touched) this.#figures.touch(JSON.stringify([t.event, t.id]));
      return known;
    });
  }

  /** Publishes what is still owed (shutdown: before the bus closes). */
  async close(): Promise<void> {
    await this.#batch?.catch(() => {});
    await this.#figures.close();
  }
}
