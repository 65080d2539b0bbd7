import type { Heatmap } from '@opshub/schema';
import type { Analytics } from '../analytics.ts';
import type { OccupancyDeltas } from './occupancy-deltas.ts';
import { columnsFor, zeros, type Columns } from './time-range.ts';

/** A heatmap row: a zone or session id and what to show for it. */
export interface HeatmapRow {
  readonly id: string;
  readonly label: string;
}

export interface HeatmapRequest {
  readonly event: string;
  readonly bucket: Heatmap['bucket'];
  readonly bucketMs: number;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

/**
 * Occupancy per zone at the end of each bucket, and visits per zone per bucket, from `zone_scans` and
 * `zone_visits_1m` (schema/clickhouse/002, 003).
 *
 * Occupancy comes from {@link OccupancyDeltas}: per minute, +1 for the zone each admitted `in` lets a ticket into and
 * -1 for the zone its previous admitted scan had let it into. Everything before `from` is summed into the opening
 * value, then the buckets accumulate on it, which gives for each bucket end the number of tickets whose latest
 * admitted scan is an `in` into the zone: the gates' own rule, so a move from hall to hall, an exit, or a second
 * admission without an exit count exactly as the control room counts them.
 *
 * `allZones` are the event's zones (the paired history is kept per event, whichever rows a caller shows).
 * @example const heatmap = await zoneHeatmap(analytics, occupancy, { event: 'expo', bucket: '5m', bucketMs: 300_000 }, rows, zoneIds);
 */
export async function zoneHeatmap(
  analytics: Analytics,
  occupancy: OccupancyDeltas,
  request: HeatmapRequest,
  rows: readonly HeatmapRow[],
  allZones: readonly string[],
  /**
   * Whose badge scans count as visits: the booths a sponsor or exhibitor asks about. Without it (the control room)
   * every booth's. A booth sharing its zone with others must not see their badge scans as its visits (issue #11).
   */
  booths?: readonly string[],
): Promise<Heatmap> {
  const params = { event: request.event };
  const columns =
    request.from !== undefined && request.to !== undefined
      ? columnsFor(request.bucketMs, request)
      : columnsFor(request.bucketMs, request, await extent(analytics, 'SELECT toUnixTimestamp64Milli(min(ts)) AS lo, toUnixTimestamp64Milli(max(ts)) AS hi, count() AS n FROM zone_scans WHERE event = {event:String}', params));
  const values = zeros(rows.length, columns.starts.length);
  const visits = zeros(rows.length, columns.starts.length);
  if (columns.starts.length === 0 || rows.length === 0) return heatmap('zone', request, columns, rows, values, { visits });

  const [deltas, visitRows] = await Promise.all([
    occupancy.minuteDeltas(request.event, allZones, columns.to),
    analytics.query<{ zone: string; bucket: string; visits: string }>(
      `SELECT zone, intDiv(toUnixTimestamp(minute) * 1000, {bucketMs:Int64}) * {bucketMs:Int64} AS bucket, sum(visits) AS visits
       FROM zone_visits_1m
       WHERE event = {event:String} AND zone IN {zones:Array(String)}
         AND minute >= toDateTime(intDiv({from:Int64}, 1000), 'UTC') AND minute < toDateTime(intDiv({to:Int64}, 1000), 'UTC')
         ${booths ? `AND exhibitor IN {booths:Array(String)}` : ''}
       GROUP BY zone, bucket`,
      // Entries into the zone (exhibitor '') and the asking booths' own badge scans.
      { ...params, zones: rows.map((r) => r.id), bucketMs: columns.bucketMs, from: columns.from, to: columns.to, ...(booths && { booths: ['', ...booths] }) },
    ),
  ]);
  rows.forEach((row, r) => {
    let inside = 0;
    const line = values[r]!;
    for (const [m, delta] of deltas.get(row.id) ?? []) {
      const column = Math.floor((m - columns.from) / columns.bucketMs);
      if (column < 0) inside += delta;
      else if (column < line.length) line[column]! += delta;
    }
    for (let column = 0; column < line.length; column++) line[column] = inside += line[column]!;
  });
  const index = new Map(rows.map((row, i) => [row.id, i]));
  for (const v of visitRows) {
    const row = index.get(v.zone);
    const column = (Number(v.bucket) - columns.from) / columns.bucketMs;
    if (row !== undefined && column >= 0 && column < columns.starts.length) visits[row]![column]! += Number(v.visits);
  }
  return heatmap('zone', request, columns, rows, values, { visits });
}

/**
 * Interactions per session per bucket (votes + questions + upvotes + chat messages) with their parts, from
 * `session_engagement_1m` (schema/clickhouse/005). `sessions` fixes the rows (a sponsor's sessions, shown even when
 * quiet); without it the rows are every session with engagement in the range.
 * @example const heatmap = await sessionHeatmap(analytics, { event: 'expo', bucket: '15m', bucketMs: 900_000 });
 */
export async function sessionHeatmap(analytics: Analytics, request: HeatmapRequest, sessions?: readonly string[]): Promise<Heatmap> {
  const series = await sessionSeries(analytics, request, sessions);
  const { columns, rows, parts } = series;
  const values = parts.votes.map((line, r) => line.map((_, c) => parts.votes[r]![c]! + parts.questions[r]![c]! + parts.upvotes[r]![c]! + parts.chats[r]![c]!));
  return heatmap('session', request, columns, rows.map((id) => ({ id, label: id })), values, { breakdown: parts });
}

/** Engagement counts per session and bucket; the shared core of the session heatmap and the sponsor's series. */
export async function sessionSeries(
  analytics: Analytics,
  request: HeatmapRequest,
  sessions?: readonly string[],
): Promise<{ columns: Columns; rows: string[]; parts: Record<'votes' | 'questions' | 'upvotes' | 'chats', number[][]> }> {
  const params = { event: request.event };
  const columns =
    request.from !== undefined && request.to !== undefined
      ? columnsFor(request.bucketMs, request)
      : columnsFor(
          request.bucketMs,
          request,
          await extent(analytics, 'SELECT toUnixTimestamp(min(minute)) * 1000 AS lo, toUnixTimestamp(max(minute)) * 1000 + 59999 AS hi, count() AS n FROM session_engagement_1m WHERE event = {event:String}', params),
        );
  const found =
    columns.starts.length === 0
      ? []
      : await analytics.query<{ session: string; bucket: string; votes: string; questions: string; upvotes: string; chats: string }>(
          `SELECT session, intDiv(toUnixTimestamp(minute) * 1000, {bucketMs:Int64}) * {bucketMs:Int64} AS bucket,
                  sum(votes) AS votes, sum(questions) AS questions, sum(upvotes) AS upvotes, sum(chats) AS chats
           FROM session_engagement_1m
           WHERE event = {event:String}
             AND minute >= toDateTime(intDiv({from:Int64}, 1000), 'UTC') AND minute < toDateTime(intDiv({to:Int64}, 1000), 'UTC')
             ${sessions ? 'AND session IN {sessions:Array(String)}' : ''}
           GROUP BY session, bucket`,
          { ...params, bucketMs: columns.bucketMs, from: columns.from, to: columns.to, ...(sessions && { sessions: [...sessions] }) },
        );
  const rows = sessions ? [...sessions] : [...new Set(found.map((f) => f.session))].sort();
  const index = new Map(rows.map((id, i) => [id, i]));
  const parts = { votes: zeros(rows.length, columns.starts.length), questions: zeros(rows.length, columns.starts.length), upvotes: zeros(rows.length, columns.starts.length), chats: zeros(rows.length, columns.starts.length) };
  for (const f of found) {
    const row = index.get(f.session);
    const column = (Number(f.bucket) - columns.from) / columns.bucketMs;
    if (row === undefined || column < 0 || column >= columns.starts.length) continue;
    for (const part of ['votes', 'questions', 'upvotes', 'chats'] as const) parts[part][row]![column]! += Number(f[part]);
  }
  return { columns, rows, parts };
}

async function extent(analytics: Analytics, sql: string, params: Record<string, unknown>): Promise<{ min: number; max: number } | null> {
  const [row] = await analytics.query<{ lo: string; hi: string; n: string }>(sql, params);
  return row && Number(row.n) > 0 ? { min: Number(row.lo), max: Number(row.hi) } : null;
}

function heatmap(
  dim: Heatmap['dim'],
  request: HeatmapRequest,
  columns: Columns,
  rows: readonly HeatmapRow[],
  values: number[][],
  extra: Pick<Heatmap, 'visits' | 'breakdown'>,
): Heatmap {
  return { dim, bucket: request.bucket, bucketMs: columns.bucketMs, from: columns.from, to: columns.to, columns: [...columns.starts], rows: [...rows], values, ...extra };
}
