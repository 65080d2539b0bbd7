import { ECDH } from 'node:crypto';
import type { TemplatedApp } from 'uWebSockets.js';
import { Id, PushDeliveriesQuery, PushSubscribeBody, PushUnsubscribeBody, type PushDeliveryList, type VapidPublicKey } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { NotFoundError } from '../store/errors.ts';
import { eventExists } from '../store/repos/events-repo.ts';
import { countPushSubscriptions, deletePushSubscription, listPushDeliveries, upsertPushSubscription } from '../store/repos/push-repo.ts';
import type { Store } from '../store/store.ts';
import { EndpointRefused } from '../streams/push/endpoint-guard.ts';
import type { PushService } from '../streams/push/push-stream.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/**
 * Web push (docs/api.md, "Web push"):
 *
 * - `GET /api/v1/push/vapid-public-key` (no token: the key is public) → `{"key"}`, the `applicationServerKey`;
 * - `POST /api/v1/events/{e}/push/subscriptions` (any role of the event) `{"subscription","announcements"?,"sessions"?}`
 *   → `201` what the endpoint now receives; the endpoint must be `https` on a known push service or an origin in
 *   `PUSH_ALLOWED_ORIGINS`, else `400`;
 * - `DELETE` the same path `{"endpoint"}` → `204`, or `404` when the caller has no such subscription (admin and staff
 *   may remove anyone's);
 * - `GET /api/v1/events/{e}/push/deliveries?limit=N` (admin, staff) → `{"deliveries":[…],"subscriptions":N}`, newest
 *   first: what the control room shows per announcement, live on `event/{e}/push`.
 */
export function registerPushRoutes(
  app: TemplatedApp,
  deps: { store: Store; verifier: TokenVerifier; push: PushService; log: Logger; onStatus?: (status: number) => void },
): void {
  const { store, verifier, push } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus, bodyLimit: 8 * 1024 };

  route(app, 'get', '/api/v1/push/vapid-public-key', options, () => {
    const body: VapidPublicKey = { key: push.publicKey };
    return { status: 200, body, headers: { 'cache-control': 'no-cache' } };
  });

  route(app, 'post', '/api/v1/events/:e/push/subscriptions', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event);
    const body = PushSubscribeBody.parse(await jsonBody(req));
    const { endpoint, keys } = body.subscription;
    try {
      push.guard.check(endpoint);
    } catch (error) {
      if (error instanceof EndpointRefused) throw new ClientError('invalid', `subscription.endpoint: ${error.message}`);
      throw error;
    }
    if (!isCurvePoint(keys.p256dh)) throw new ClientError('invalid', 'subscription.keys.p256dh: not a P-256 public key');
    if (!(await eventExists(store.db, event))) throw new NotFoundError('event', event);
    const state = await upsertPushSubscription(store.db, {
      event,
      endpoint,
      owner: claims.sub,
      role: claims.role,
      p256dh: keys.p256dh,
      auth: keys.auth,
      announcements: body.announcements,
      sessions: body.sessions,
    });
    push.metrics.subscriptions.inc({ change: 'subscribed' });
    return { status: 201, body: state };
  });

  route(app, 'del', '/api/v1/events/:e/push/subscriptions', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event);
    const { endpoint } = PushUnsubscribeBody.parse(await jsonBody(req));
    const removed = await deletePushSubscription(store.db, { event, endpoint, owner: claims.sub, anyOwner: claims.role === 'admin' || claims.role === 'staff' });
    if (!removed) throw new NotFoundError('push subscription', endpoint, 'no push subscription of yours has this endpoint');
    push.metrics.subscriptions.inc({ change: 'unsubscribed' });
    return { status: 204, body: '' };
  });

  route(app, 'get', '/api/v1/events/:e/push/deliveries', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event, ['admin', 'staff']);
    const { limit } = PushDeliveriesQuery.parse(Object.fromEntries(req.query));
    const [deliveries, subscriptions] = await Promise.all([listPushDeliveries(store.db, event, limit), countPushSubscriptions(store.db, event)]);
    const body: PushDeliveryList = { deliveries, subscriptions };
    return { status: 200, body };
  });
}

function eventParam(req: Request): string {
  const id = req.params[0] ?? '';
  if (!Id.safeParse(id).success) throw new ClientError('invalid', `"${id}" is not a valid event id`);
  return id;
}

/** True when the key is a point on P-256 (web-push would otherwise fail on every send to it). */
function isCurvePoint(p256dh: string): boolean {
  try {
    ECDH.convertKey(Buffer.from(p256dh, 'base64url'), 'prime256v1', undefined, undefined, 'uncompressed');
    return true;
  } catch {
    return false;
  }
}
