import { randomBytes } from 'node:crypto';
import type { TemplatedApp } from 'uWebSockets.js';
import { signTicket } from '@opshub/replica';
import { Id, TicketRow, topicName } from '@opshub/schema';
import type { Bus } from '../bus/bus.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ReplicaHost } from '../replicas/replica-host.ts';
import { listAlerts } from '../store/repos/alerts-repo.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { zoneAdjustments } from '../store/repos/capacity-repo.ts';
import { checkinSummary, lockCheckinsExclusive } from '../store/repos/checkins-repo.ts';
import { zoneOccupancy } from '../streams/capacity/zone-occupancy.ts';
import { eventKeys } from '../store/repos/event-keys-repo.ts';
import { getEvent } from '../store/repos/events-repo.ts';
import { getTicket, importTickets, revokeTicket } from '../store/repos/tickets-repo.ts';
import type { Store } from '../store/store.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

const IssueBody = TicketRow.omit({ code: true }).extend({ code: TicketRow.shape.code.optional() });

/**
 * The gates' REST side:
 * - `GET /api/v1/events/{e}/checkins/summary` — registered, checked in, inside, per gate and zone, duplicates;
 * - `GET /api/v1/events/{e}/capacity` — occupancy per zone (state to refetch after a `reset` on the capacity topic);
 * - `GET /api/v1/events/{e}/alerts` — open alerts, newest first;
 * - `POST /api/v1/events/{e}/tickets/issue` — a box-office ticket with a signed, offline-valid code;
 * - `POST /api/v1/events/{e}/tickets/{code}/revoke`.
 * Roster changes reach every connected replica before the answer is sent.
 */
export function registerGateRoutes(
  app: TemplatedApp,
  deps: { store: Store; bus: Bus; verifier: TokenVerifier; replicas: ReplicaHost; log: Logger; onStatus?: (status: number) => void },
): void {
  const { store, bus, verifier, replicas } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  route(app, 'get', '/api/v1/events/:e/checkins/summary', options, async (req) => {
    const event = await eventFor(req, ['admin', 'staff', 'gate']);
    // `seq` is the checkins topic's head, read under the event's check-in lock: no check-in transaction is in flight
    // (each publishes before it commits), so the figures hold exactly the messages up to `seq` and a client adds
    // the ones after it. Corrections staff made to zone counters apply as on the capacity topic.
    const { seq, summary, adjustments } = await store.db.transaction().execute(async (trx) => {
      await lockCheckinsExclusive(trx, event);
      const head = await bus.head(topicName({ kind: 'checkins', event }));
      return { seq: head, summary: await checkinSummary(trx, event), adjustments: await zoneAdjustments(trx, event) };
    });
    for (const [zone, delta] of adjustments) {
      const counted = summary.byZone[zone];
      if (!counted) continue;
      const corrected = Math.max(0, counted.inside + delta);
      summary.inside += corrected - counted.inside;
      counted.inside = corrected;
    }
    return { status: 200, body: { ...summary, seq, epoch: bus.epoch() } };
  });

  route(app, 'get', '/api/v1/events/:e/capacity', options, async (req) => {
    const event = await eventFor(req, ['admin', 'staff', 'gate']);
    const details = await getEvent(store.db, event);
    const [{ byZone }, adjustments] = await Promise.all([checkinSummary(store.db, event), zoneAdjustments(store.db, event)]);
    const zones = (details?.zones ?? []).map((z) => zoneOccupancy(z, Math.max(0, (byZone[z.id]?.inside ?? 0) + (adjustments.get(z.id) ?? 0))));
    return { status: 200, body: { at: Date.now(), zones } };
  });

  route(app, 'get', '/api/v1/events/:e/alerts', options, async (req) => {
    const event = await eventFor(req, ['admin', 'staff']);
    return { status: 200, body: await listAlerts(store.db, event) };
  });

  route(app, 'post', '/api/v1/events/:e/tickets/issue', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event, ['admin', 'staff']);
    const parsed = IssueBody.safeParse(await jsonBody(req));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    const code = parsed.data.code ?? `T-${randomBytes(6).toString('base64url')}`;
    if (await getTicket(store.db, event, code)) throw new ClientError('conflict', `ticket "${code}" exists already`);
    const result = await importTickets(store.db, event, [{ ...parsed.data, code }]);
    if (result.accepted !== 1) throw new ClientError('invalid', result.rejected[0]?.reason ?? 'ticket rejected');
    const ticket = (await getTicket(store.db, event, code))!;
    const keys = await eventKeys(store.db, event);
    const token = await signTicket({ event, code, holder: ticket.holder, type: ticket.type, zones: ticket.zones }, keys.privateJwk);
    await appendAudit(store.db, { actor: claims.sub, role: claims.role, action: 'ticket.issue', event, target: code, after: { holder: ticket.holder, type: ticket.type, zones: ticket.zones } });
    await project(event);
    return { status: 201, body: { code, token, ticket: { holder: ticket.holder, email: ticket.email, type: ticket.type, zones: ticket.zones, status: ticket.status } } };
  });

  route(app, 'post', '/api/v1/events/:e/tickets/:code/revoke', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event, ['admin', 'staff']);
    const code = req.params[1] ?? '';
    const before = await getTicket(store.db, event, code);
    const after = await revokeTicket(store.db, event, code);
    await appendAudit(store.db, { actor: claims.sub, role: claims.role, action: 'ticket.revoke', event, target: code, before: before && { status: before.status }, after: { status: after.status } });
    await project(event);
    return { status: 200, body: { code, status: after.status } };
  });

  async function eventFor(req: Request, roles: Parameters<typeof requireAccess>[2]): Promise<string> {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event, roles);
    if (!(await getEvent(store.db, event))) throw new ClientError('not_found', `event "${event}" not found`);
    return event;
  }

  /** Roster changes must reach the replicas; a failure here is logged and healed when the doc next loads. */
  async function project(event: string): Promise<void> {
    await replicas.projectRoster(event).catch((err: unknown) => deps.log.error({ err, event }, 'roster projection failed'));
  }
}

function eventParam(req: Request): string {
  const id = req.params[0] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid event id`);
  return id;
}
