import type { TemplatedApp } from 'uWebSockets.js';
import { signTicket } from '@opshub/replica';
import { Id, setupLimits, TicketSearchQuery } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ReplicaHost } from '../replicas/replica-host.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { codesInside, ticketScans } from '../store/repos/checkins-repo.ts';
import { eventKeys } from '../store/repos/event-keys-repo.ts';
import { getEvent } from '../store/repos/events-repo.ts';
import { getTicket, searchTickets, unrevokeTicket, type Ticket } from '../store/repos/tickets-repo.ts';
import type { Store } from '../store/store.ts';
import { route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

const staff = ['admin', 'staff'] as const;

/**
 * The desk's view of the roster (issue 13), for admin and staff:
 * - `GET /api/v1/events/{e}/tickets?q=` — search by code (exact or prefix), name or email;
 * - `GET /api/v1/events/{e}/tickets/{code}` — a ticket with its status, its scans across gates and its signed code;
 * - `POST /api/v1/events/{e}/tickets/{code}/unrevoke` — admits again (audited; reaches the gates before the answer).
 * Issuing and revoking live with the gates' routes (gate-routes.ts).
 */
export function registerTicketRoutes(
  app: TemplatedApp,
  deps: { store: Store; verifier: TokenVerifier; replicas: ReplicaHost; log: Logger; onStatus?: (status: number) => void },
): void {
  const { store, verifier, replicas } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  route(app, 'get', '/api/v1/events/:e/tickets', options, async (req) => {
    const event = await eventFor(req);
    const query = TicketSearchQuery.safeParse(Object.fromEntries(req.query));
    if (!query.success) throw new ClientError('invalid', describeZodError(query.error));
    const found = await searchTickets(store.db, event, query.data.q, query.data.limit);
    const page = found.slice(0, query.data.limit);
    const inside = await codesInside(store.db, event, page.map((t) => t.code));
    return { status: 200, body: { tickets: page.map((t) => summary(t, inside.has(t.code))), more: found.length > page.length } };
  });

  route(app, 'get', '/api/v1/events/:e/tickets/:code', options, async (req) => {
    const event = await eventFor(req);
    const code = req.params[1] ?? '';
    const ticket = await getTicket(store.db, event, code);
    if (!ticket) throw new ClientError('not_found', `ticket "${code}" not found`);
    const [scans, inside, keys] = await Promise.all([
      ticketScans(store.db, event, code, setupLimits.ticketScans),
      codesInside(store.db, event, [code]),
      eventKeys(store.db, event),
    ]);
    // The same signed code a box-office sale prints: gates verify it offline, so a reprint works at any gate.
    const token = await signTicket({ event, code, holder: ticket.holder, type: ticket.type, zones: ticket.zones }, keys.privateJwk);
    return {
      status: 200,
      body: { ...summary(ticket, inside.has(code)), orderCode: ticket.orderCode, createdAt: ticket.createdAt.getTime(), token, scans },
    };
  });

  route(app, 'post', '/api/v1/events/:e/tickets/:code/unrevoke', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event, [...staff]);
    const code = req.params[1] ?? '';
    const after = await store.db.transaction().execute(async (trx) => {
      const before = await getTicket(trx, event, code);
      const ticket = await unrevokeTicket(trx, event, code);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'ticket.unrevoke', event, target: code, before: before && { status: before.status }, after: { status: ticket.status } });
      return ticket;
    });
    await replicas.projectRoster(event).catch((err: unknown) => deps.log.error({ err, event }, 'roster projection failed'));
    return { status: 200, body: { code, status: after.status } };
  });

  async function eventFor(req: Request): Promise<string> {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event, [...staff]);
    if (!(await getEvent(store.db, event))) throw new ClientError('not_found', `event "${event}" not found`);
    return event;
  }
}

function summary(t: Ticket, inside: boolean) {
  return { code: t.code, holder: t.holder, email: t.email, type: t.type, zones: t.zones, status: t.status, revokedAt: t.revokedAt ? t.revokedAt.getTime() : null, inside };
}

function eventParam(req: Request): string {
  const id = req.params[0] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid event id`);
  return id;
}
