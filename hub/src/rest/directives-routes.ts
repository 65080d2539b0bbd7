import type { TemplatedApp } from 'uWebSockets.js';
import { GateStateBody, Id, ZoneStateBody, type GateState, type ZoneState } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { listDirectives } from '../store/repos/directives-repo.ts';
import { getEvent } from '../store/repos/events-repo.ts';
import type { Store } from '../store/store.ts';
import type { DirectivesStream } from '../streams/directives/directives-stream.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/**
 * The control room's levers over REST (issue 12):
 * - `PUT /api/v1/events/{e}/gates/{g}/state` `{"state","message"?}`;
 * - `PUT /api/v1/events/{e}/zones/{z}/state` `{"full"?,"redirect"?,"enforce"?}`;
 * - `GET /api/v1/events/{e}/directives`: every gate's state and zone's policy (defaults for those never set).
 * Changes are audited and reach every gate replica this hub serves before the answer.
 */
export function registerDirectivesRoutes(app: TemplatedApp, deps: { store: Store; verifier: TokenVerifier; directives: DirectivesStream; log: Logger; onStatus?: (status: number) => void }): void {
  const { store, verifier, directives } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  route(app, 'put', '/api/v1/events/:e/gates/:g/state', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = param(req, 0, 'event');
    const gate = param(req, 1, 'gate');
    requireAccess(claims, event, ['admin', 'staff']);
    const body = GateStateBody.safeParse(await jsonBody(req));
    if (!body.success) throw new ClientError('invalid', describeZodError(body.error));
    return { status: 200, body: await directives.setGate(claims, event, gate, body.data) };
  });

  route(app, 'put', '/api/v1/events/:e/zones/:z/state', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = param(req, 0, 'event');
    const zone = param(req, 1, 'zone');
    requireAccess(claims, event, ['admin', 'staff']);
    const body = ZoneStateBody.safeParse(await jsonBody(req));
    if (!body.success) throw new ClientError('invalid', describeZodError(body.error));
    return { status: 200, body: await directives.setZone(claims, event, zone, body.data) };
  });

  route(app, 'get', '/api/v1/events/:e/directives', options, async (req) => {
    const claims = await authenticate(verifier, req);
    const event = param(req, 0, 'event');
    requireAccess(claims, event, ['admin', 'staff', 'gate']);
    const details = await getEvent(store.db, event);
    if (!details) throw new ClientError('not_found', `event "${event}" not found`);
    const stored = await listDirectives(store.db, event);
    const gates = new Map(stored.gates.map((g) => [g.gate, g]));
    const zones = new Map(stored.zones.map((z) => [z.zone, z]));
    return {
      status: 200,
      body: {
        gates: details.gates.map((g): GateState => gates.get(g.id) ?? { gate: g.id, state: 'open', by: '', at: 0 }),
        zones: details.zones.map((z): ZoneState => zones.get(z.id) ?? { zone: z.id, full: false, redirect: null, enforce: 'off', by: '', at: 0 }),
      },
    };
  });
}

function param(req: Request, index: number, what: string): string {
  const parsed = Id.safeParse(req.params[index]);
  if (!parsed.success) throw new ClientError('invalid', `${what}: not a valid id`);
  return parsed.data;
}
