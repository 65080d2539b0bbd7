import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngagementSeries, Heatmap, heatmapBucketMs, SponsorSummary, type Lead } from '@opshub/schema';
import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';
import { bucketStarts, expectedBooth, expectedOccupancy, expectedSessionParts, expectedSessionTotals, expectedZoneVisits } from './expected.ts';
import { generateTraffic, planZones, trafficPlan } from './traffic.ts';

/**
 * 200,000 generated events with known answers, recorded through the hub's analytics on the real engine (chDB), plus
 * badge scans captured through the real `lead.capture` path. Every heatmap cell, series point and sponsor figure
 * must equal what a plain replay of the same events says.
 */
const plan = trafficPlan({ events: 200_000, seed: 2026 });
const zones = planZones(plan);
const admin = { role: 'admin' as const, sub: 'root', events: ['*'] };
const sponsors = [
  { id: 'alpha', name: 'Alpha', sessions: ['keynote', 'panel-1'] },
  { id: 'beta', name: 'Beta', sessions: ['workshop', 'never-held'] },
];
const exhibitors = plan.booths.map((b, i) => ({ id: b.exhibitor, name: `Booth ${i + 1}`, zone: b.zone, sponsor: i < 2 ? 'alpha' : i === 2 ? 'beta' : null }));
/** Real captures (the lead stream and the Store): [exhibitor, roster code, rating]. R1 at x1 twice: a rescan. */
const captures: [string, string, number | undefined][] = [
  ['x1', 'R1', 5],
  ['x1', 'R2', 2],
  ['x1', 'R1', 4],
  ['x2', 'R3', undefined],
  ['x3', 'R1', 3],
];

let t: TestHub;
let events: AnalyticsEvent[];
let span: { from: number; to: number };

async function get<T>(path: string, who: Parameters<TestHub['token']>[0] = admin): Promise<T> {
  const res = await t.api(path, { claims: who });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

beforeAll(async () => {
  t = await startTestHub();
  const post = async (path: string, body: unknown) => {
    const res = await t.api(path, { method: 'POST', claims: admin, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  await post('/api/v1/events', { id: plan.event, name: 'Generated expo', zones: zones.map((id) => ({ id, name: id.toUpperCase(), capacity: 10_000 })) });
  await post(`/api/v1/events/${plan.event}/tickets`, [{ code: 'R1' }, { code: 'R2' }, { code: 'R3' }]);
  await post(`/api/v1/events/${plan.event}/sponsors`, sponsors);
  await post(`/api/v1/events/${plan.event}/exhibitors`, exhibitors);

  events = [...generateTraffic(plan)];
  // In slices, as a hub records them: the queue holds a second's worth, not the whole run at once.
  for (let i = 0; i < events.length; i += 50_000) {
    for (const e of events.slice(i, i + 50_000)) t.backends.analytics.record(e);
    await t.backends.analytics.flush();
  }
  expect(t.backends.analytics.stats().dropped).toBe(0);
  span = { from: Math.floor(events[0]!.ts / 900_000) * 900_000, to: Math.ceil((events.at(-1)!.ts + 1) / 900_000) * 900_000 };

  const socket = await TestClient.connect(t.wsUrl, await t.token(admin));
  for (const [exhibitor, code, rating] of captures) {
    const answer = await socket.command('lead.capture', { event: plan.event, exhibitor, code, ...(rating !== undefined && { rating }) });
    if (answer.op !== 'ok') throw new Error(JSON.stringify(answer));
  }
  await socket.close();
  await t.hub.analyticsRelay.drain();
}, 120_000);
afterAll(() => t?.close());

describe('heatmaps over 200,000 generated events', () => {
  it('has the events it was given', async () => {
    const [row] = await t.backends.analytics.query<{ n: string }>('SELECT count() AS n FROM events WHERE event = {event:String}', { event: plan.event });
    expect(Number(row!.n)).toBe(plan.events + captures.length);
  });

  for (const bucket of ['1m', '5m', '15m'] as const) {
    it(`dim=zone, bucket=${bucket}: occupancy and visits in every cell`, async () => {
      const bucketMs = heatmapBucketMs[bucket];
      const heatmap = Heatmap.parse(await get(`/api/v1/events/${plan.event}/analytics/heatmap?dim=zone&bucket=${bucket}&from=${span.from}&to=${span.to}`));
      expect(heatmap.rows.map((r) => r.id)).toEqual([...zones].sort());
      expect(heatmap.columns).toEqual(bucketStarts(span.from, span.to, bucketMs));
      const rows = heatmap.rows.map((r) => r.id);
      expect(heatmap.values).toEqual(expectedOccupancy(events, rows, span.from, span.to, bucketMs));
      expect(heatmap.visits).toEqual(expectedZoneVisits(events, rows, span.from, span.to, bucketMs));
      expect(heatmap.values.flat().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    });

    it(`dim=session, bucket=${bucket}: interactions and their parts in every cell`, async () => {
      const bucketMs = heatmapBucketMs[bucket];
      const heatmap = Heatmap.parse(await get(`/api/v1/events/${plan.event}/analytics/heatmap?dim=session&bucket=${bucket}&from=${span.from}&to=${span.to}`));
      const sessions = [...plan.sessions].sort();
      expect(heatmap.rows.map((r) => r.id)).toEqual(sessions);
      const parts = expectedSessionParts(events, sessions, span.from, span.to, bucketMs);
      expect(heatmap.breakdown).toEqual(parts);
      expect(heatmap.values).toEqual(parts.votes.map((line, r) => line.map((_, c) => parts.votes[r]![c]! + parts.questions[r]![c]! + parts.upvotes[r]![c]! + parts.chats[r]![c]!)));
    });
  }

  it('starts a later window from the occupancy already reached (history before `from` counts)', async () => {
    const from = span.from + 45 * 60_000;
    const heatmap = Heatmap.parse(await get(`/api/v1/events/${plan.event}/analytics/heatmap?dim=zone&bucket=5m&from=${from}&to=${span.to}`));
    expect(heatmap.values).toEqual(expectedOccupancy(events, heatmap.rows.map((r) => r.id), from, span.to, 300_000));
    expect(heatmap.values.every((line) => line[0]! > 0)).toBe(true);
  });

  it('narrows to a sponsor\'s booths and sessions, and defaults the range to the data', async () => {
    const zoneMap = Heatmap.parse(await get(`/api/v1/events/${plan.event}/analytics/heatmap?dim=zone&bucket=15m&sponsor=alpha&from=${span.from}&to=${span.to}`));
    expect(zoneMap.rows).toEqual([{ id: 'booth-1', label: 'BOOTH-1' }, { id: 'booth-2', label: 'BOOTH-2' }]);
    expect(zoneMap.values).toEqual(expectedOccupancy(events, ['booth-1', 'booth-2'], span.from, span.to, 900_000));
    const sessionMap = Heatmap.parse(await get(`/api/v1/events/${plan.event}/analytics/heatmap?dim=session&bucket=15m`, { role: 'sponsor', sponsor: 'beta', events: [plan.event] }));
    expect(sessionMap.rows.map((r) => r.id)).toEqual(['never-held', 'workshop']);
    expect(sessionMap.from).toBe(span.from);
    expect(sessionMap.values[0]!.every((v) => v === 0)).toBe(true);
  });
});

describe('sponsor summaries', () => {
  const totals = () => expectedSessionTotals(events);
  const interactions = (p: { votes: number; questions: number; upvotes: number; chats: number }) => p.votes + p.questions + p.upvotes + p.chats;

  it('equal the replay: visits, unique visitors, leads, average rating, sessions against the event', async () => {
    const summary = SponsorSummary.parse(await get(`/api/v1/events/${plan.event}/sponsors/alpha/summary`, { role: 'sponsor', sponsor: 'alpha', events: [plan.event] }));
    const real = (exhibitor: string) => captures.filter(([x]) => x === exhibitor);
    const allVisitors = new Set<string>();
    const expectedBooths = exhibitors.slice(0, 2).map((x) => {
      const generated = expectedBooth(events, x);
      const mine = real(x.id);
      for (const [, code] of mine) generated.visitors.add(code);
      for (const v of generated.visitors) allVisitors.add(v);
      const leads = new Map<string, number | undefined>();
      for (const [, code, rating] of mine) leads.set(code, rating ?? leads.get(code));
      const ratings = [...leads.values()].filter((r): r is number => r !== undefined);
      return {
        id: x.id,
        name: x.name,
        zone: x.zone,
        visits: generated.visits + mine.length,
        uniqueVisitors: generated.visitors.size,
        leads: leads.size,
        rated: ratings.length,
        averageRating: ratings.length > 0 ? ratings.reduce((a, b) => a + b, 0) / ratings.length : null,
      };
    });
    expect(summary.booths).toEqual(expectedBooths);
    expect(expectedBooths[0]).toMatchObject({ leads: 2, rated: 2, averageRating: 3 });
    expect(summary.totals).toEqual({
      visits: expectedBooths[0]!.visits + expectedBooths[1]!.visits,
      uniqueVisitors: allVisitors.size,
      leads: 3,
      rated: 2,
      averageRating: 3,
    });

    const all = totals();
    const sponsored = ['keynote', 'panel-1'].map((session) => ({ session, ...all.get(session)!, interactions: interactions(all.get(session)!) }));
    expect(summary.sessions).toEqual(sponsored);
    const eventAverage = [...all.values()].reduce((sum, p) => sum + interactions(p), 0) / all.size;
    const sponsoredAverage = (sponsored[0]!.interactions + sponsored[1]!.interactions) / 2;
    expect(summary.engagement).toEqual({ sponsoredAverage, eventAverage, ratio: sponsoredAverage / eventAverage, eventSessions: all.size });
  });

  it('counts a sponsored session that never happened as zero engagement', async () => {
    const summary = SponsorSummary.parse(await get(`/api/v1/events/${plan.event}/sponsors/beta/summary`));
    const workshop = totals().get('workshop')!;
    expect(summary.sessions).toEqual([
      { session: 'never-held', votes: 0, questions: 0, upvotes: 0, chats: 0, interactions: 0 },
      { session: 'workshop', ...workshop, interactions: interactions(workshop) },
    ]);
    expect(summary.engagement.sponsoredAverage).toBe(interactions(workshop) / 2);
    expect(summary.booths.map((b) => [b.id, b.leads, b.averageRating])).toEqual([['x3', 1, 3]]);
  });

  it('gives the engagement series: sponsored sessions per session against every session, per bucket', async () => {
    const series = EngagementSeries.parse(await get(`/api/v1/events/${plan.event}/sponsors/alpha/engagement?bucket=15m&from=${span.from}&to=${span.to}`));
    const sessions = [...plan.sessions].sort();
    const parts = expectedSessionParts(events, sessions, span.from, span.to, 900_000);
    const perCell = (r: number, c: number) => parts.votes[r]![c]! + parts.questions[r]![c]! + parts.upvotes[r]![c]! + parts.chats[r]![c]!;
    const columns = bucketStarts(span.from, span.to, 900_000);
    expect(series.columns).toEqual(columns);
    expect(series.sponsored).toEqual(columns.map((_, c) => (perCell(sessions.indexOf('keynote'), c) + perCell(sessions.indexOf('panel-1'), c)) / 2));
    expect(series.event).toEqual(columns.map((_, c) => sessions.reduce((sum, _s, r) => sum + perCell(r, c), 0) / sessions.length));
  });

  it('the leads behind the summary are the Store\'s, served to the sponsor', async () => {
    const page = await get<{ leads: Lead[] }>(`/api/v1/events/${plan.event}/exhibitors/x1/leads`, { role: 'sponsor', sponsor: 'alpha', events: [plan.event] });
    expect(page.leads.map((l) => [l.visits, l.rating])).toEqual([
      [2, 4],
      [1, 2],
    ]);
  });
});
