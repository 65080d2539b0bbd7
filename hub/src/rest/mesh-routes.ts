import type { TemplatedApp } from 'uWebSockets.js';
import { deriveMeshCredentials } from '@opshub/replica';
import { Id } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { meshSecretOf } from '../replicas/mesh-secret.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { eventKeys } from '../store/repos/event-keys-repo.ts';
import { getEvent } from '../store/repos/events-repo.ts';
import type { Store } from '../store/store.ts';
import { route } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/**
 * Pairing a gate laptop with the venue mesh:
 * `POST /api/v1/events/{e}/gates/{g}/mesh-credentials` → `{"event","gate","meshKey","scanKey"}`, for a `gate` token of that
 * gate (a gate token names its gate), or `staff`/`admin` of the event. The edge agent asks once and keeps the answer
 * on disk; see docs/gates.md "The venue mesh". Audited: who paired which gate, when.
 */
export function registerMeshRoutes(app: TemplatedApp, deps: { store: Store; verifier: TokenVerifier; log: Logger; onStatus?: (status: number) => void }): void {
  const { store, verifier } = deps;
  route(app, 'post', '/api/v1/events/:e/gates/:g/mesh-credentials', { log: deps.log, onStatus: deps.onStatus, bodyLimit: 1024 }, async (req) => {
    const claims = await authenticate(verifier, req);
    const [event = '', gate = ''] = req.params;
    if (!Id.safeParse(event).success || !Id.safeParse(gate).success) throw new ClientError('invalid', 'event and gate must be ids');
    requireAccess(claims, event, ['admin', 'staff', 'gate']);
    if (claims.role === 'gate' && claims.gate !== gate) {
      throw new ClientError('forbidden', claims.gate ? `the token is for gate "${claims.gate}", not "${gate}"` : 'a gate token must name its gate to pair');
    }
    const details = await getEvent(store.db, event);
    if (!details) throw new ClientError('not_found', `event "${event}" not found`);
    if (!details.gates.some((g) => g.id === gate)) throw new ClientError('not_found', `event "${event}" has no gate "${gate}"`);
    const keys = await eventKeys(store.db, event);
    await appendAudit(store.db, { actor: claims.sub, role: claims.role, action: 'gate.mesh_credentials', event, target: gate });
    return { status: 200, body: deriveMeshCredentials(meshSecretOf(keys.privateJwk), event, gate), headers: { 'cache-control': 'no-store' } };
  });
}
