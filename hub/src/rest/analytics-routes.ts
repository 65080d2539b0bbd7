import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import { hasEvent, heatmapBucketMs, Id, type Claims } from '@opshub/schema';
import type { Analytics } from '../analytics/analytics.ts';
import { sessionHeatmap, zoneHeatmap, type HeatmapRequest, type HeatmapRow } from '../analytics/dashboards/heatmaps.ts';
import { OccupancyDeltas } from '../analytics/dashboards/occupancy-deltas.ts';
import { engagementSeries, sponsorSummary } from '../analytics/dashboards/sponsor-summary.ts';
import { sponsoredAttendance } from '../analytics/dashboards/sessions-participation.ts';
import { listSessions } from '../store/repos/sessions-repo.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { getEvent } from '../store/repos/events-repo.ts';
import { getExhibitor } from '../store/repos/exhibitors-repo.ts';
import { leadTallies } from '../store/repos/leads-repo.ts';
import type { Store } from '../store/store.ts';
import { sponsorScope, type SponsorScope } from '../streams/leads/sponsor-scope.ts';
import { route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';
import { HeatmapQuery, RangeQuery } from '@opshub/schema/rest-queries';
import { AnalyticsErasureBody, AnalyticsExportQuery, type AnalyticsErasure } from '@opshub/schema';
import type { OutboxRelay } from '../analytics/outbox-relay.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { requestErasure, type ErasureRequest } from '../store/repos/analytics-erasure-repo.ts';
import { jsonBody } from '../transport/http-route.ts';
import { streamRoute } from '../transport/stream-route.ts';

/** How long an erasure request waits for this hub's ClickHouse before answering `applied: false` (it still completes). */
const ERASURE_WAIT_MS = 10_000;


/**
 * The sponsor dashboard's numbers, read from ClickHouse (see `hub/src/analytics/dashboards/`):
 * - `GET /api/v1/events/{e}/analytics/heatmap?dim=zone|session&bucket=1m|5m|15m&from=MS&to=MS&sponsor=S&exhibitor=X`
 * - `GET /api/v1/events/{e}/sponsors/{s}/summary`
 * - `GET /api/v1/events/{e}/sponsors/{s}/engagement?bucket=&from=&to=`
 * - `GET /api/v1/events/{e}/analytics/export?format=csv|parquet` (streamed), `POST /api/v1/events/{e}/analytics/erasures`
 *   and `DELETE /api/v1/events/{e}/analytics`: admins and staff of the event, audited
 *
 * Admins and staff see every zone and session (narrowed by `sponsor` or `exhibitor` when asked). A sponsor sees its own
 * booths' zones and sponsored sessions, an exhibitor its own booth's zone; anything else is `forbidden`.
 */
export function registerAnalyticsRoutes(
  app: TemplatedApp,
  deps: { store: Store; analytics: Analytics; relay: Pick<OutboxRelay, 'erased'>; verifier: TokenVerifier; log: Logger; onStatus?: (status: number) => void },
): { occupancy: OccupancyDeltas } {
  const { store, analytics, relay, verifier } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };
  // Shared by every dashboard of this hub: the paired scan history of an event is computed once, then extended.
  const occupancy = new OccupancyDeltas(analytics);

  route(app, 'get', '/api/v1/events/:e/analytics/heatmap', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    const query = parseQuery(HeatmapQuery, req);
    const request: HeatmapRequest = { event, bucket: query.bucket, bucketMs: heatmapBucketMs[query.bucket], from: query.from, to: query.to };
    const rows = await heatmapRows(claims, event, query);
    const body = query.dim === 'zone' ? await zoneHeatmap(analytics, occupancy, request, rows.zones!, rows.allZones!, rows.booths) : await sessionHeatmap(analytics, request, rows.sessions);
    return { status: 200, body };
  });

  route(app, 'get', '/api/v1/events/:e/sponsors/:s/summary', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    const scope = await sponsorScope(store, claims, event, idParam(req, 1, 'sponsor'));
    const leads = await leadTallies(store.db, event, scope.booths.map((b) => b.id));
    const body = await sponsorSummary(analytics, { event, sponsor: scope.sponsor, booths: scope.booths, sessions: scope.sessions, leads });
    // Sessions of the agenda (issue 17): the sponsored rooms' attendance and participation against the event's.
    if (claims.role !== 'exhibitor') {
      const [agenda, details] = await Promise.all([listSessions(store.db, event), getEvent(store.db, event)]);
      const capacities = new Map((details?.zones ?? []).map((z) => [z.id, z.capacity]));
      body.attendance = await sponsoredAttendance(analytics, event, agenda, scope.sessions, (zone) => capacities.get(zone) ?? 0);
    }
    return { status: 200, body };
  });

  route(app, 'get', '/api/v1/events/:e/sponsors/:s/engagement', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    const scope = await sponsorScope(store, claims, event, idParam(req, 1, 'sponsor'));
    if (scope.sessions.length === 0 && claims.role === 'exhibitor') throw new ClientError('forbidden', 'session engagement is the sponsor\'s, not a booth\'s');
    const query = parseQuery(RangeQuery, req);
    const body = await engagementSeries(analytics, { event, bucket: query.bucket, bucketMs: heatmapBucketMs[query.bucket], from: query.from, to: query.to }, scope.sessions);
    return { status: 200, body };
  });

  // Streamed as ClickHouse writes it (CSVWithNames or Parquet): an event's raw rows run to millions.
  streamRoute(app, '/api/v1/events/:e/analytics/export', options, async (req) => {
    const { claims, event } = await staffOf(req);
    const { format } = parseQuery(AnalyticsExportQuery, req);
    await appendAudit(store.db, { actor: claims.sub, role: claims.role, action: 'analytics.export', event, target: event, after: { format } });
    const stream = await analytics.exportEvents(event, format);
    return {
      contentType: format === 'parquet' ? 'application/vnd.apache.parquet' : 'text/csv; charset=utf-8',
      headers: { 'content-disposition': `attachment; filename="analytics-${event}.${format}"`, 'cache-control': 'no-store' },
      chunks: stream as AsyncIterable<Uint8Array>,
    };
  });

  route(app, 'post', '/api/v1/events/:e/analytics/erasures', options, async (req) => {
    const { claims, event } = await staffOf(req);
    const parsed = AnalyticsErasureBody.safeParse(await jsonBody(req));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    return { status: 200, body: await erase(claims, event, parsed.data.tickets, parsed.data.actors) };
  });

  route(app, 'del', '/api/v1/events/:e/analytics', options, async (req) => {
    const { claims, event } = await staffOf(req);
    return { status: 200, body: await erase(claims, event, [], []) };
  });

  /** Records the request (deleting its outbox rows) with its audit row, then waits a while for this hub's ClickHouse. */
  async function erase(claims: Claims, event: string, tickets: string[], actors: string[]): Promise<AnalyticsErasure> {
    const request: ErasureRequest = await store.db.transaction().execute(async (trx) => {
      const recorded = await requestErasure(trx, { event, tickets, actors, by: claims.sub });
      const scope = tickets.length + actors.length === 0 ? 'event' : 'attendee';
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: `analytics.erase.${scope}`, event, target: scope === 'event' ? event : [...tickets, ...actors].join(','), after: { id: recorded.id, tickets, actors, outboxRows: recorded.outboxRows } });
      return recorded;
    });
    const applied = await relay.erased(request.id, ERASURE_WAIT_MS);
    return { id: request.id, event, tickets: [...request.tickets], actors: [...request.actors], outboxRows: request.outboxRows, at: request.at.getTime(), applied };
  }

  async function staffOf(req: Request): Promise<{ claims: Claims; event: string }> {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event, ['admin', 'staff']);
    return { claims, event };
  }

  /** The rows a token may see in a heatmap: zones (with names) for `dim=zone`, session ids for `dim=session`. */
  async function heatmapRows(
    claims: Claims,
    event: string,
    query: z.infer<typeof HeatmapQuery>,
  ): Promise<{ zones?: HeatmapRow[]; allZones?: string[]; sessions?: string[]; booths?: string[] }> {
    const forbidden = () => new ClientError('forbidden', `role "${claims.role}" may not read this heatmap of event "${event}"`);
    if (!hasEvent(claims, event)) throw forbidden();
    let scope: Pick<SponsorScope, 'booths' | 'sessions'> | undefined;
    if (claims.role === 'admin' || claims.role === 'staff') {
      if (query.sponsor !== undefined) scope = await sponsorScope(store, claims, event, query.sponsor);
      else if (query.exhibitor !== undefined) {
        const booth = await getExhibitor(store.db, event, query.exhibitor);
        if (!booth) throw new ClientError('not_found', `exhibitor "${query.exhibitor}" not found`);
        scope = { booths: [booth], sessions: [] };
      }
    } else if (claims.role === 'sponsor') {
      if (claims.sponsor === undefined || (query.sponsor !== undefined && query.sponsor !== claims.sponsor)) throw forbidden();
      scope = await sponsorScope(store, claims, event, claims.sponsor);
      if (query.exhibitor !== undefined) {
        const booths = scope.booths.filter((b) => b.id === query.exhibitor);
        if (booths.length === 0) throw forbidden();
        scope = { booths, sessions: [] };
      }
    } else if (claims.role === 'exhibitor') {
      if (claims.exhibitor === undefined || query.dim === 'session' || (query.exhibitor !== undefined && query.exhibitor !== claims.exhibitor)) throw forbidden();
      const booth = await getExhibitor(store.db, event, claims.exhibitor);
      if (!booth || (query.sponsor !== undefined && booth.sponsor !== query.sponsor)) throw forbidden();
      scope = { booths: [booth], sessions: [] };
    } else {
      throw forbidden();
    }
    const details = await getEvent(store.db, event);
    if (!details) throw new ClientError('not_found', `event "${event}" not found`);
    if (query.dim === 'session') return { sessions: scope?.sessions };
    const names = new Map(details.zones.map((z) => [z.id, z.name]));
    const zoneIds = scope ? [...new Set(scope.booths.map((b) => b.zone))].sort() : details.zones.map((z) => z.id);
    return { zones: zoneIds.map((id) => ({ id, label: names.get(id) ?? id })), allZones: details.zones.map((z) => z.id), ...(scope && { booths: scope.booths.map((b) => b.id) }) };
  }

  return { occupancy };
}

function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(req.query));
  if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error, 'query'));
  return parsed.data;
}

function idParam(req: Request, index: number, what: string): string {
  const id = req.params[index] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid ${what} id`);
  return id;
}
