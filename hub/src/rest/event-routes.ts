import type { TemplatedApp } from 'uWebSockets.js';
import { CreateEventBody, Id, PatchEventBody } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ReplicaHost } from '../replicas/replica-host.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { createEvent, getEvent, listEvents, updateEvent } from '../store/repos/events-repo.ts';
import { readTicketCsv } from '../store/repos/parse-ticket-csv.ts';
import { importTickets } from '../store/repos/tickets-repo.ts';
import type { Store } from '../store/store.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/** A roster of 100,000 tickets as CSV is ~10 MB; leave room. */
const ROSTER_LIMIT = 64 * 1024 * 1024;
/** Uploads up to this many accepted rows are projected code by code; larger ones by a pass over the roster. */
const PROJECT_CODES_UP_TO = 10_000;

/**
 * Events and rosters, as the contract names them: `GET /api/v1/events` (the events the token may see),
 * `POST /api/v1/events`, `GET /api/v1/events/{e}`, `PATCH /api/v1/events/{e}` (name, time zone, zones, gates;
 * projected into the gate doc before the answer), `POST /api/v1/events/{e}/tickets` (JSON array or CSV).
 */
export function registerEventRoutes(
  app: TemplatedApp,
  deps: { store: Store; verifier: TokenVerifier; log: Logger; replicas: ReplicaHost; onStatus?: (status: number) => void },
): void {
  const { store, verifier, replicas } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  route(app, 'post', '/api/v1/events', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const parsed = CreateEventBody.safeParse(await jsonBody(req));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    requireAccess(claims, parsed.data.id, ['admin', 'staff']);
    const event = await store.db.transaction().execute(async (trx) => {
      await createEvent(trx, parsed.data);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'event.create', event: parsed.data.id, target: parsed.data.id, after: parsed.data });
      return getEvent(trx, parsed.data.id);
    });
    return { status: 201, body: event };
  });

  route(app, 'get', '/api/v1/events', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const ids = claims.events.includes('*') ? '*' : claims.events.filter((e) => e !== '*');
    return { status: 200, body: { events: await listEvents(store.db, ids) } };
  });

  route(app, 'patch', '/api/v1/events/:e', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const id = eventParam(req);
    requireAccess(claims, id, ['admin', 'staff']);
    const parsed = PatchEventBody.safeParse(await jsonBody(req));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    const { after } = await store.db.transaction().execute(async (trx) => {
      const change = await updateEvent(trx, id, parsed.data);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'event.update', event: id, target: id, before: change.before, after: change.after });
      return change;
    });
    // Every gate replica gets the new meta (zones, gates, capacities, name) before the answer; a failure is logged
    // and healed when the doc next loads, as for rosters.
    await replicas.projectMeta(id).catch((err: unknown) => deps.log.error({ err, event: id }, 'event meta projection failed'));
    return { status: 200, body: after };
  });

  route(app, 'get', '/api/v1/events/:e', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const id = eventParam(req);
    requireAccess(claims, id);
    const event = await getEvent(store.db, id);
    if (!event) throw new ClientError('not_found', `event "${id}" not found`);
    return { status: 200, body: event };
  });

  route(app, 'post', '/api/v1/events/:e/tickets', { ...options, bodyLimit: ROSTER_LIMIT }, async (req) => {
    const claims = await authenticate(verifier, req);
    const id = eventParam(req);
    requireAccess(claims, id, ['admin', 'staff']);
    const rows = await rosterRows(req);
    if (!(await getEvent(store.db, id))) throw new ClientError('not_found', `event "${id}" not found`);
    const codes: string[] = [];
    const result = await importTickets(store.db, id, rows, { acceptedCodes: codes });
    await appendAudit(store.db, {
      actor: claims.sub,
      role: claims.role,
      action: 'tickets.import',
      event: id,
      target: id,
      after: { accepted: result.accepted, rejected: result.rejected.length },
    });
    // The roster reaches every connected gate replica before we answer; a failure heals when the doc next loads.
    // An upload in chunks (the console sends 2,000 rows at a time) writes just its own tickets: a full pass per chunk
    // would read the whole roster again for every chunk of a 100,000-row import.
    const projection = codes.length <= PROJECT_CODES_UP_TO ? replicas.projectTickets(id, codes) : replicas.projectRoster(id);
    if (codes.length > 0) await projection.catch((err: unknown) => deps.log.error({ err, event: id }, 'roster projection failed'));
    return { status: 200, body: result };
  });
}

function eventParam(req: Request): string {
  const id = req.params[0] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid event id`);
  return id;
}

/** The roster as rows: a JSON array, or CSV with a `code,holder,email,type,zones` header. */
async function rosterRows(req: Request): Promise<unknown[]> {
  const type = req.header('content-type').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/csv' || type === 'application/csv') {
    return readTicketCsv((await req.body()).toString('utf8'));
  }
  // Anything else is read as JSON: clients that forget the header (fetch sends text/plain) still work.
  const body = await jsonBody(req);
  if (!Array.isArray(body)) throw new ClientError('invalid', 'expected a JSON array of tickets');
  return body;
}
