import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import { ExhibitorBody, Id, SponsorBody, topicName, type Claims, type LeadPage } from '@opshub/schema';
import { subscribeAccess, type SponsorLinks } from '../auth/permissions.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { Bus } from '../bus/bus.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { getExhibitor, listConsents, listExhibitors, listSponsors, setConsents, upsertExhibitors, upsertSponsors } from '../store/repos/exhibitors-repo.ts';
import { cursorOf, leadPage, type LeadCursor } from '../store/repos/leads-repo.ts';
import type { Store } from '../store/store.ts';
import { leadCsv } from '../streams/leads/lead-csv.ts';
import { sponsorScope } from '../streams/leads/sponsor-scope.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';
import { streamRoute } from '../transport/stream-route.ts';
import { ConsentQuery, LeadPageQuery } from '@opshub/schema/rest-queries';

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).max(1000)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.infer<T>[]);
const SponsorsBody = oneOrMany(SponsorBody);
const ExhibitorsBody = oneOrMany(ExhibitorBody);
const ConsentsBody = z.union([z.array(z.unknown()).max(100_000), z.record(z.string(), z.unknown())]).transform((v) => (Array.isArray(v) ? v : [v]));

/** Consent uploads are rosters' companions: leave them the same room. */
const CONSENT_LIMIT = 16 * 1024 * 1024;

/**
 * The sponsor and exhibitor model, consents, and a booth's leads:
 * - `POST|GET /api/v1/events/{e}/sponsors`, `GET /api/v1/events/{e}/sponsors/{s}`
 * - `POST|GET /api/v1/events/{e}/exhibitors`
 * - `POST|GET /api/v1/events/{e}/consents`
 * - `GET /api/v1/events/{e}/exhibitors/{x}/leads?limit=&after=` (JSON pages), `GET .../leads.csv` (streamed)
 *
 * Reading a booth's leads needs the right to subscribe to its leads topic (the `leads` row of the permission table:
 * the booth's staff, its sponsor, admins). Writes are for admins and staff, and audited.
 */
export function registerLeadsRoutes(
  app: TemplatedApp,
  deps: { store: Store; bus: Bus; verifier: TokenVerifier; links: SponsorLinks; log: Logger; onStatus?: (status: number) => void },
): void {
  const { store, bus, verifier, links } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  route(app, 'post', '/api/v1/events/:e/sponsors', options, async (req) => {
    const { claims, event } = await staffWrite(req);
    const sponsors = parseBody(SponsorsBody, await jsonBody(req));
    const stored = await store.db.transaction().execute(async (trx) => {
      const rows = await upsertSponsors(trx, event, sponsors);
      for (const row of rows) await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'sponsor.upsert', event, target: row.id, after: row });
      return rows;
    });
    return { status: 200, body: { sponsors: stored } };
  });

  route(app, 'get', '/api/v1/events/:e/sponsors', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event);
    if (claims.role === 'admin' || claims.role === 'staff') return { status: 200, body: { sponsors: await listSponsors(store.db, event) } };
    if (claims.role === 'sponsor' && claims.sponsor !== undefined) return { status: 200, body: { sponsors: await listSponsors(store.db, event, claims.sponsor) } };
    throw new ClientError('forbidden', `role "${claims.role}" may not list sponsors`);
  });

  route(app, 'get', '/api/v1/events/:e/sponsors/:s', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    const scope = await sponsorScope(store, claims, event, idParam(req, 1, 'sponsor'));
    return { status: 200, body: { ...scope.sponsor, sessions: scope.sessions, exhibitors: scope.booths } };
  });

  route(app, 'post', '/api/v1/events/:e/exhibitors', options, async (req) => {
    const { claims, event } = await staffWrite(req);
    const exhibitors = parseBody(ExhibitorsBody, await jsonBody(req));
    const stored = await store.db.transaction().execute(async (trx) => {
      const rows = await upsertExhibitors(trx, event, exhibitors);
      for (const row of rows) await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'exhibitor.upsert', event, target: row.id, after: row });
      return rows;
    });
    return { status: 200, body: { exhibitors: stored } };
  });

  route(app, 'get', '/api/v1/events/:e/exhibitors', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event);
    const filter = visibleExhibitors(claims);
    return { status: 200, body: { exhibitors: await listExhibitors(store.db, event, filter) } };
  });

  route(app, 'post', '/api/v1/events/:e/consents', { ...options, bodyLimit: CONSENT_LIMIT }, async (req) => {
    const { claims, event } = await staffWrite(req);
    const rows = parseBody(ConsentsBody, await jsonBody(req));
    const result = await setConsents(store.db, event, rows, claims.sub);
    await appendAudit(store.db, { actor: claims.sub, role: claims.role, action: 'consents.set', event, target: event, after: { accepted: result.accepted, rejected: result.rejected.length } });
    return { status: 200, body: result };
  });

  route(app, 'get', '/api/v1/events/:e/consents', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event, ['admin', 'staff']);
    const query = parseBody(ConsentQuery, Object.fromEntries(req.query));
    return { status: 200, body: await listConsents(store.db, event, query) };
  });

  route(app, 'get', '/api/v1/events/:e/exhibitors/:x/leads', options, async (req) => {
    const { event, exhibitor } = await leadsAccess(req);
    const query = parseBody(LeadPageQuery, Object.fromEntries(req.query));
    const seq = await bus.head(topicName({ kind: 'leads', event, exhibitor }));
    const leads = await leadPage(store.db, event, exhibitor, { limit: query.limit, after: query.after === undefined ? undefined : decodeCursor(query.after) });
    const next = leads.length === query.limit ? encodeCursor(cursorOf(leads[leads.length - 1]!)) : null;
    return { status: 200, body: { seq, leads, next } satisfies LeadPage };
  });

  // Streamed: an export of a busy booth is large, and is written page by page as the client reads it.
  streamRoute(app, '/api/v1/events/:e/exhibitors/:x/leads.csv', options, async (req) => {
    const { event, exhibitor } = await leadsAccess(req);
    const pageSize = 500;
    return {
      contentType: 'text/csv; charset=utf-8',
      headers: { 'content-disposition': `attachment; filename="leads-${event}-${exhibitor}.csv"`, 'cache-control': 'no-store' },
      chunks: leadCsv((after) => leadPage(store.db, event, exhibitor, { limit: pageSize, after: after && cursorOf(after) }), pageSize),
    };
  });

  /** Authenticates an admin or staff write for the event in the path. */
  async function staffWrite(req: Request): Promise<{ claims: Claims; event: string }> {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event, ['admin', 'staff']);
    return { claims, event };
  }

  /** The right to read a booth's leads is the right to subscribe to its leads topic. */
  async function leadsAccess(req: Request): Promise<{ claims: Claims; event: string; exhibitor: string }> {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    const exhibitor = idParam(req, 1, 'exhibitor');
    const access = subscribeAccess(claims, { kind: 'leads', event, exhibitor }, links);
    if (!(access === true || (access !== false && (await access)))) {
      throw new ClientError('forbidden', `role "${claims.role}" may not read the leads of exhibitor "${exhibitor}"`);
    }
    if (!(await getExhibitor(store.db, event, exhibitor))) throw new ClientError('not_found', `exhibitor "${exhibitor}" not found`);
    return { claims, event, exhibitor };
  }
}

/** Which exhibitors a role may list: all (admin, staff), a sponsor's own, an exhibitor itself. */
function visibleExhibitors(claims: Claims): { sponsor?: string; id?: string } {
  if (claims.role === 'admin' || claims.role === 'staff') return {};
  if (claims.role === 'sponsor' && claims.sponsor !== undefined) return { sponsor: claims.sponsor };
  if (claims.role === 'exhibitor' && claims.exhibitor !== undefined) return { id: claims.exhibitor };
  throw new ClientError('forbidden', `role "${claims.role}" may not list exhibitors`);
}

/** A page cursor: opaque to clients, base64url of `[firstAt, id]`. */
function encodeCursor(cursor: LeadCursor): string {
  return Buffer.from(JSON.stringify([cursor.firstAt, cursor.id])).toString('base64url');
}

const CursorJson = z.tuple([z.number().int().min(0), z.string().min(1).max(64)]);

function decodeCursor(raw: string): LeadCursor {
  try {
    const [firstAt, id] = CursorJson.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return { firstAt, id };
  } catch {
    throw new ClientError('invalid', '`after` is not a cursor this API gave out');
  }
}

function parseBody<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
  return parsed.data;
}

function idParam(req: Request, index: number, what: string): string {
  const id = req.params[index] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid ${what} id`);
  return id;
}
