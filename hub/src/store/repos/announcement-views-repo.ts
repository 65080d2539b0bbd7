import type { Kysely } from 'kysely';
import type { ScreenKind, ShownCounts } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';

/** One screen that showed one announcement. */
export interface AnnouncementView {
  event: string;
  id: string;
  screen: ScreenKind;
  /** the gate's device, or the page's client id */
  client: string;
}

/**
 * Records views, each (announcement, screen, client) once whichever hub heard of it; views of ids that are not
 * announcements of their event are skipped. Returns the announcements (with their event) that gained a view, and
 * which of the given ids are announcements of their event (`known`, as `event/id`).
 * @example const { touched } = await recordViews(db, [{ event: 'expo', id, screen: 'audience', client: 'tab-1a2b3c4d' }]);
 */
export async function recordViews(db: Kysely<Database>, views: readonly AnnouncementView[]): Promise<{ touched: { event: string; id: string }[]; known: Set<string> }> {
  if (views.length === 0) return { touched: [], known: new Set() };
  const ids = [...new Set(views.map((v) => v.id))];
  const known = new Map((await db.selectFrom('announcements').select(['id', 'event_id']).where('id', 'in', ids).execute()).map((r) => [r.id, r.event_id]));
  const rows = views
    .filter((v) => known.get(v.id) === v.event)
    .map((v) => ({ announcement_id: v.id, event_id: v.event, screen: v.screen, client: v.client }));
  const valid = new Set([...known].map(([id, event]) => `${event}/${id}`));
  if (rows.length === 0) return { touched: [], known: valid };
  const inserted = await db
    .insertInto('announcement_views')
    .values(rows)
    .onConflict((oc) => oc.columns(['announcement_id', 'screen', 'client']).doNothing())
    .returning(['announcement_id', 'event_id'])
    .execute();
  const touched = new Map(inserted.map((r) => [r.announcement_id, r.event_id]));
  return { touched: [...touched].map(([id, event]) => ({ id, event })), known: valid };
}

/**
 * How many distinct screens showed each announcement, by kind (zero counts for ids nobody showed).
 * @example const counts = (await shownCounts(db, [id])).get(id); // { gates: 3, audience: 120, projectors: 1, consoles: 4 }
 */
export async function shownCounts(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, ShownCounts>> {
  const out = new Map<string, ShownCounts>(ids.map((id) => [id, { gates: 0, audience: 0, projectors: 0, consoles: 0 }]));
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('announcement_views')
    .select(['announcement_id', 'screen', (eb) => eb.fn.countAll<string | number>().as('n')])
    .where('announcement_id', 'in', [...ids])
    .groupBy(['announcement_id', 'screen'])
    .execute();
  const field = { gate: 'gates', audience: 'audience', projector: 'projectors', console: 'consoles' } as const;
  for (const row of rows) {
    const counts = out.get(row.announcement_id);
    if (counts) counts[field[row.screen]] = Number(row.n);
  }
  return out;
}
