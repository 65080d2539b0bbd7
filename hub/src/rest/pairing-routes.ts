import type { TemplatedApp } from 'uWebSockets.js';
import { Id, PairGateBody } from '@opshub/schema';
import type { RevocationList } from '../auth/revocation-list.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { getEvent } from '../store/repos/events-repo.ts';
import { addPairedDevice, deviceSubject, listPairedDevices, unpairDevice } from '../store/repos/pairing-repo.ts';
import type { Store } from '../store/store.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/**
 * Gate pairing from the console (issue 13), for admin and staff:
 * - `POST /api/v1/events/{e}/gates/{g}/pairings` `{"label"?, "ttlHours"?}` — a fresh gate token for one laptop
 *   (subject `device:{id}`, expiring after `ttlHours`, 24 by default) and the agent's arguments; audited without the token;
 * - `GET /api/v1/events/{e}/pairings` — the laptops paired so far;
 * - `DELETE /api/v1/events/{e}/pairings/{d}` — unpairs one: its subject goes on the token revocation list, which
 *   closes its sockets on every hub at once. Audited.
 */
export function registerPairingRoutes(
  app: TemplatedApp,
  deps: { store: Store; verifier: TokenVerifier; revocations: RevocationList; log: Logger; onStatus?: (status: number) => void },
): void {
  const { store, verifier } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };
  const mint = verifier.mint?.bind(verifier);

  route(app, 'post', '/api/v1/events/:e/gates/:g/pairings', { ...options, bodyLimit: 4096 }, async (req) => {
    const { claims, event } = await staffOf(req);
    const gate = req.params[1] ?? '';
    if (!mint) {
      throw new ClientError(
        'unavailable',
        'pairing needs the hub to sign gate tokens (HS256), but this hub verifies tokens from an identity provider (HUB_JWKS_URL): issue gate tokens there',
        501,
      );
    }
    const details = await getEvent(store.db, event);
    if (!details) throw new ClientError('not_found', `event "${event}" not found`);
    if (!details.gates.some((g) => g.id === gate)) throw new ClientError('not_found', `event "${event}" has no gate "${gate}"`);
    const parsed = PairGateBody.safeParse(await jsonBody(req).catch(() => ({})));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    const { label, ttlHours } = parsed.data;
    const expiresAt = new Date(Date.now() + ttlHours * 3_600_000);
    const device = await store.db.transaction().execute(async (trx) => {
      const added = await addPairedDevice(trx, { event, gate, label, createdBy: claims.sub, expiresAt });
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'gate.pair', event, target: added.id, after: { gate, label, expiresAt: expiresAt.toISOString() } });
      return added;
    });
    const token = await mint({ sub: deviceSubject(device.id), role: 'gate', events: [event], gate }, `${ttlHours}h`);
    return { status: 201, body: { device, token, args: ['--event', event, '--gate', gate, '--device', device.id] } };
  });

  route(app, 'get', '/api/v1/events/:e/pairings', options, async (req) => {
    const { event } = await staffOf(req);
    return { status: 200, body: { devices: await listPairedDevices(store.db, event) } };
  });

  route(app, 'del', '/api/v1/events/:e/pairings/:d', options, async (req) => {
    const { claims, event } = await staffOf(req);
    const id = req.params[1] ?? '';
    const device = await store.db.transaction().execute(async (trx) => {
      const unpaired = await unpairDevice(trx, event, id);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'gate.unpair', event, target: id, after: { gate: unpaired.gate } });
      return unpaired;
    });
    // After the commit: the list is written, applied here and signalled to the other hubs (their poll is the net).
    await deps.revocations.revoke({ kind: 'sub', value: deviceSubject(id), revokedBy: claims.sub, reason: `gate ${device.gate} laptop unpaired` });
    return { status: 200, body: device };
  });

  async function staffOf(req: Request) {
    const claims = await authenticate(verifier, req);
    const event = req.params[0] ?? '';
    if (!Id.safeParse(event).success) throw new ClientError('invalid', `"${event}" is not a valid event id`);
    requireAccess(claims, event, ['admin', 'staff']);
    return { claims, event };
  }
}
