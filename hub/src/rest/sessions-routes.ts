import type { TemplatedApp } from 'uWebSockets.js';
import { Id, PatchSessionBody, SessionsBody, type Claims, type Role, type Session, type SessionList } from '@opshub/schema';
import type { Analytics } from '../analytics/analytics.ts';
import { sessionAttendance } from '../analytics/dashboards/session-attendance.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { NotFoundError } from '../store/errors.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { eventExists, getEvent } from '../store/repos/events-repo.ts';
import { getSponsor } from '../store/repos/exhibitors-repo.ts';
import { getSession, listSessions, patchSession, upsertSessions } from '../store/repos/sessions-repo.ts';
import type { Store } from '../store/store.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/** Who plans the agenda. */
const planners: readonly Role[] = ['admin', 'staff'];
/** Who reads a session's attendance besides its sponsor: the people running the room. */
const roomRunners: readonly Role[] = ['admin', 'staff', 'moderator'];

/**
 * Sessions (docs/api.md, "Sessions"):
 *
 * - `POST /api/v1/events/{e}/sessions` (admin, staff) one session or an array, created or replaced by id → `201`
 *   (`200` when every one existed) `{"sessions":[…]}` as stored; audited (`session.create` / `session.update`);
 * - `GET /api/v1/events/{e}/sessions` (any role of the event) → `{"sessions":[…]}` in start order;
 * - `GET /api/v1/events/{e}/sessions/{s}` → one session;
 * - `PATCH /api/v1/events/{e}/sessions/{s}` (admin, staff) the fields given → the session; audited (`session.update`);
 * - `GET /api/v1/events/{e}/sessions/{s}/attendance` (admin, staff, moderator; a sponsor for its sponsored sessions)
 *   → in the room now, peak, unique attendees, and participation (see `analytics/dashboards/session-attendance.ts`).
 */
export function registerSessionsRoutes(
  app: TemplatedApp,
  deps: { store: Store; analytics: Analytics; verifier: TokenVerifier; log: Logger; onStatus?: (status: number) => void; onChanged?: (event: string) => void },
): void {
  const { store, analytics, verifier } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus, bodyLimit: 512 * 1024 };

  route(app, 'post', '/api/v1/events/:e/sessions', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event, planners);
    const parsed = SessionsBody.parse(await jsonBody(req));
    const bodies = Array.isArray(parsed) ? parsed : [parsed];
    if (!(await eventExists(store.db, event))) throw new NotFoundError('event', event);
    const stored = await store.db.transaction().execute(async (trx) => {
      const results = await upsertSessions(trx, event, bodies);
      for (const { session, before } of results) {
        await appendAudit(trx, { actor: claims.sub, role: claims.role, action: before ? 'session.update' : 'session.create', event, target: session.id, before: before ?? undefined, after: session });
      }
      return { sessions: results.map((r) => r.session), created: results.some((r) => r.before === null) };
    });
    deps.onChanged?.(event);
    const body: SessionList = { sessions: stored.sessions };
    return { status: stored.created ? 201 : 200, body };
  });

  route(app, 'get', '/api/v1/events/:e/sessions', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event);
    if (!(await eventExists(store.db, event))) throw new NotFoundError('event', event);
    const body: SessionList = { sessions: await listSessions(store.db, event) };
    return { status: 200, body };
  });

  route(app, 'get', '/api/v1/events/:e/sessions/:s', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event);
    const body: Session = await sessionOf(event, idParam(req, 1, 'session'));
    return { status: 200, body };
  });

  route(app, 'patch', '/api/v1/events/:e/sessions/:s', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    const id = idParam(req, 1, 'session');
    requireAccess(claims, event, planners);
    const patch = PatchSessionBody.parse(await jsonBody(req));
    const session = await store.db.transaction().execute(async (trx) => {
      const change = await patchSession(trx, event, id, patch);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'session.update', event, target: id, before: change.before, after: change.session });
      return change.session;
    });
    deps.onChanged?.(event);
    return { status: 200, body: session };
  });

  route(app, 'get', '/api/v1/events/:e/sessions/:s/attendance', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = idParam(req, 0, 'event');
    requireAccess(claims, event);
    const session = await sessionOf(event, idParam(req, 1, 'session'));
    await mayReadAttendance(claims, event, session);
    const details = await getEvent(store.db, event);
    const room = details?.zones.find((z) => z.id === session.zone);
    const body = await sessionAttendance(analytics, {
      event,
      id: session.id,
      zone: session.zone,
      startsAt: Date.parse(session.startsAt),
      endsAt: Date.parse(session.endsAt),
      capacity: session.capacity ?? room?.capacity ?? 0,
    });
    return { status: 200, body };
  });

  async function sessionOf(event: string, id: string): Promise<Session> {
    const session = await getSession(store.db, event, id);
    if (!session) throw new NotFoundError('session', id);
    return session;
  }

  /** Room runners read any session's figures; a sponsor those of the sessions it sponsors (either side of the link). */
  async function mayReadAttendance(claims: Claims, event: string, session: Session): Promise<void> {
    if (roomRunners.includes(claims.role)) return;
    if (claims.role === 'sponsor' && claims.sponsor !== undefined) {
      if (session.sponsor === claims.sponsor) return;
      const sponsor = await getSponsor(store.db, event, claims.sponsor);
      if (sponsor?.sessions.includes(session.id)) return;
    }
    throw new ClientError('forbidden', `role "${claims.role}" may not read the attendance of session "${session.id}"`);
  }
}

function idParam(req: Request, index: number, what: string): string {
  const id = req.params[index] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid ${what} id`);
  return id;
}
