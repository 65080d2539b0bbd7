import type { BoothSummary, EngagementSeries, Exhibitor, SessionEngagement, SponsorSummary } from '@opshub/schema';
import type { Analytics } from '../analytics.ts';
import { sessionSeries, type HeatmapRequest } from './heatmaps.ts';

/** What the Store says about a sponsor and its booths' leads; the engine knows the rest. */
export interface SponsorFacts {
  readonly event: string;
  readonly sponsor: { readonly id: string; readonly name: string };
  /** the booths to report (all of the sponsor's, or an exhibitor's own) */
  readonly booths: readonly Exhibitor[];
  /** the sponsored sessions to report; empty for an exhibitor's view */
  readonly sessions: readonly string[];
  readonly leads: ReadonlyMap<string, { leads: number; rated: number; ratingSum: number }>;
}

/**
 * A sponsor's numbers: per booth its visits (entries into the booth's zone plus its own badge scans), unique visitors
 * (distinct tickets behind those) and leads with their mean rating; the sponsored sessions' engagement; and that
 * engagement against the event's: interactions per sponsored session over interactions per session with engagement.
 * Reads `zone_visits_1m`, `zone_visitors` and `session_engagement_1m` (schema/clickhouse/003–005).
 * @example const summary = await sponsorSummary(analytics, { event, sponsor, booths, sessions, leads: await leadTallies(db, event, ids) });
 */
export async function sponsorSummary(analytics: Analytics, facts: SponsorFacts): Promise<SponsorSummary> {
  const { event, booths } = facts;
  const [visits, visitors, sessions] = await Promise.all([boothVisits(analytics, event, booths), boothVisitors(analytics, event, booths), sessionTotals(analytics, event)]);

  const summaries: BoothSummary[] = booths.map((booth, i) => {
    const tally = facts.leads.get(booth.id) ?? { leads: 0, rated: 0, ratingSum: 0 };
    return {
      id: booth.id,
      name: booth.name,
      zone: booth.zone,
      visits: visits[i]!,
      uniqueVisitors: visitors.perBooth[i]!,
      leads: tally.leads,
      rated: tally.rated,
      averageRating: tally.rated > 0 ? tally.ratingSum / tally.rated : null,
    };
  });
  const rated = summaries.reduce((sum, b) => sum + b.rated, 0);
  const ratingSum = booths.reduce((sum, b) => sum + (facts.leads.get(b.id)?.ratingSum ?? 0), 0);

  const sponsored = facts.sessions.map((session) => sessions.get(session) ?? engagementOf(session, 0, 0, 0, 0));
  const eventInteractions = [...sessions.values()].reduce((sum, s) => sum + s.interactions, 0);
  const eventAverage = sessions.size > 0 ? eventInteractions / sessions.size : 0;
  const sponsoredAverage = sponsored.length > 0 ? sponsored.reduce((sum, s) => sum + s.interactions, 0) / sponsored.length : 0;
  return {
    event,
    sponsor: { id: facts.sponsor.id, name: facts.sponsor.name },
    booths: summaries,
    totals: {
      visits: summaries.reduce((sum, b) => sum + b.visits, 0),
      uniqueVisitors: visitors.total,
      leads: summaries.reduce((sum, b) => sum + b.leads, 0),
      rated,
      averageRating: rated > 0 ? ratingSum / rated : null,
    },
    sessions: sponsored,
    engagement: { sponsoredAverage, eventAverage, ratio: eventAverage > 0 ? sponsoredAverage / eventAverage : null, eventSessions: sessions.size },
  };
}

/**
 * Interactions per session per bucket: the sponsored sessions' (divided by how many there are) against every
 * session's (divided by how many had engagement in the range).
 * @example const series = await engagementSeries(analytics, { event: 'expo', bucket: '5m', bucketMs: 300_000 }, ['keynote']);
 */
export async function engagementSeries(analytics: Analytics, request: HeatmapRequest, sponsoredSessions: readonly string[]): Promise<EngagementSeries> {
  const { columns, rows, parts } = await sessionSeries(analytics, request);
  const totals = rows.map((_, r) => columns.starts.map((__, c) => parts.votes[r]![c]! + parts.questions[r]![c]! + parts.upvotes[r]![c]! + parts.chats[r]![c]!));
  const active = rows.filter((_, r) => totals[r]!.some((v) => v > 0)).length;
  const sponsoredRows = rows.map((id, r) => (sponsoredSessions.includes(id) ? r : -1)).filter((r) => r >= 0);
  const sum = (rowIds: readonly number[], c: number) => rowIds.reduce((s, r) => s + totals[r]![c]!, 0);
  const all = rows.map((_, r) => r);
  return {
    bucket: request.bucket,
    bucketMs: columns.bucketMs,
    from: columns.from,
    to: columns.to,
    columns: [...columns.starts],
    sponsored: columns.starts.map((_, c) => (sponsoredSessions.length > 0 ? sum(sponsoredRows, c) / sponsoredSessions.length : 0)),
    event: columns.starts.map((_, c) => (active > 0 ? sum(all, c) / active : 0)),
    sessions: [...sponsoredSessions],
  };
}

/** Visits per booth: entries into its zone (exhibitor '') plus its own badge scans (wherever recorded). */
async function boothVisits(analytics: Analytics, event: string, booths: readonly Exhibitor[]): Promise<number[]> {
  if (booths.length === 0) return [];
  const rows = await analytics.query<{ zone: string; exhibitor: string; visits: string }>(
    `SELECT zone, exhibitor, sum(visits) AS visits FROM zone_visits_1m
     WHERE event = {event:String} AND ((zone IN {zones:Array(String)} AND exhibitor = '') OR exhibitor IN {exhibitors:Array(String)})
     GROUP BY zone, exhibitor`,
    { event, zones: booths.map((b) => b.zone), exhibitors: booths.map((b) => b.id) },
  );
  return booths.map((booth) =>
    rows.filter((r) => (r.exhibitor === '' && r.zone === booth.zone) || r.exhibitor === booth.id).reduce((sum, r) => sum + Number(r.visits), 0),
  );
}

/** Distinct tickets behind each booth's visits, and behind all of them together (one person at two booths is one). */
async function boothVisitors(analytics: Analytics, event: string, booths: readonly Exhibitor[]): Promise<{ perBooth: number[]; total: number }> {
  if (booths.length === 0) return { perBooth: [], total: 0 };
  const params: Record<string, unknown> = { event, zones: booths.map((b) => b.zone), exhibitors: booths.map((b) => b.id) };
  const perBooth = booths.map((booth, i) => {
    params[`z${i}`] = booth.zone;
    params[`x${i}`] = booth.id;
    return `uniqExactIf(ticket, (zone = {z${i}:String} AND exhibitor = '') OR exhibitor = {x${i}:String}) AS b${i}`;
  });
  const [row] = await analytics.query<Record<string, string>>(
    `SELECT uniqExact(ticket) AS total, ${perBooth.join(', ')} FROM zone_visitors
     WHERE event = {event:String} AND ((zone IN {zones:Array(String)} AND exhibitor = '') OR exhibitor IN {exhibitors:Array(String)})`,
    params,
  );
  return { perBooth: booths.map((_, i) => Number(row?.[`b${i}`] ?? 0)), total: Number(row?.total ?? 0) };
}

/** Every session's engagement over the whole event. */
async function sessionTotals(analytics: Analytics, event: string): Promise<Map<string, SessionEngagement>> {
  const rows = await analytics.query<{ session: string; votes: string; questions: string; upvotes: string; chats: string }>(
    `SELECT session, sum(votes) AS votes, sum(questions) AS questions, sum(upvotes) AS upvotes, sum(chats) AS chats
     FROM session_engagement_1m WHERE event = {event:String} GROUP BY session`,
    { event },
  );
  const totals = new Map<string, SessionEngagement>();
  for (const r of rows) {
    const engagement = engagementOf(r.session, Number(r.votes), Number(r.questions), Number(r.upvotes), Number(r.chats));
    if (engagement.interactions > 0) totals.set(r.session, engagement);
  }
  return totals;
}

function engagementOf(session: string, votes: number, questions: number, upvotes: number, chats: number): SessionEngagement {
  return { session, votes, questions, upvotes, chats, interactions: votes + questions + upvotes + chats };
}
