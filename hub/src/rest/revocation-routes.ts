import type { TemplatedApp } from 'uWebSockets.js';
import { RevokeTokenBody } from '@opshub/schema';
import type { RevocationList } from '../auth/revocation-list.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { listRevocations } from '../store/repos/revocations-repo.ts';
import { jsonBody, route, type Request } from '../transport/http-route.ts';
import { authenticate } from './authenticate.ts';

/**
 * Ending sessions now, on every hub (admin only: a token may span events):
 * - `POST /api/v1/auth/revocations` `{"jti"}` or `{"sub"}` (+ `"reason"`) → `201` the entry; the hub refuses the token
 *   from then on and every hub closes its sockets with 4401 within moments (bus signal; a 5 s Store poll behind it);
 * - `GET /api/v1/auth/revocations` → `{"revocations":[…]}`.
 */
export function registerRevocationRoutes(app: TemplatedApp, deps: { verifier: TokenVerifier; revocations: RevocationList; log: Logger; onStatus?: (status: number) => void }): void {
  const options = { log: deps.log, onStatus: deps.onStatus, bodyLimit: 4096 };

  route(app, 'post', '/api/v1/auth/revocations', options, async (req) => {
    const claims = await admin(req);
    const parsed = RevokeTokenBody.safeParse(await jsonBody(req));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    const body = parsed.data;
    const [kind, value] = 'jti' in body ? (['jti', body.jti] as const) : (['sub', body.sub] as const);
    const revocation = await deps.revocations.revoke({ kind, value, revokedBy: claims.sub, reason: body.reason ?? '' });
    deps.log.info({ kind, value, by: claims.sub }, 'token revoked');
    return { status: 201, body: revocation };
  });

  route(app, 'get', '/api/v1/auth/revocations', options, async (req) => {
    await admin(req);
    return { status: 200, body: { revocations: await listRevocations(deps.revocations.db) } };
  });

  async function admin(req: Request) {
    const claims = await authenticate(deps.verifier, req);
    if (claims.role !== 'admin') throw new ClientError('forbidden', 'only an admin may end sessions');
    return claims;
  }
}
