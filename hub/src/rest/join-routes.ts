import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TemplatedApp } from 'uWebSockets.js';
import { Id, type Role } from '@opshub/schema';
import { joinLimits, JoinRequest, SetJoinCodeRequest, type JoinCodeState, type JoinResponse } from '@opshub/schema/join';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { appendAudit } from '../store/repos/audit-log.ts';
import { takeRateToken } from '../store/repos/chat-repo.ts';
import { ensureJoinCode, generateJoinCode, rateLimitWait, readJoinCode, setJoinCode } from '../store/repos/join-code-repo.ts';
import { eventExists } from '../store/repos/events-repo.ts';
import type { Store } from '../store/store.ts';
import { TrustedProxies } from '../transport/client-address.ts';
import { jsonBody, route, type Reply, type Request } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/** Who reads and changes an event's join code: the people who put it on the projector and run the room. */
export const joinCodeRoles: readonly Role[] = ['admin', 'staff', 'moderator'];

/** Rate-limit rows for addresses are not about one event. */
const ANY_EVENT = '*';

/**
 * Joining the audience page with a code.
 *
 * - `POST /api/v1/events/{e}/join` `{"code"}` (no token) → `{"token","sub","role":"attendee","event","expiresAt"}`:
 *   an attendee token for that one event with an opaque random `sub`, valid for `joinLimits.tokenTtlSeconds`. A wrong
 *   code, an event without one and an unknown event all answer the same `403`, so the route tells nobody which events
 *   exist. Limited per client address (`joinLimits.attempts`, `joinLimits.failures`) across hub processes: the socket's
 *   peer, or behind a proxy in `proxies` (`TRUSTED_PROXIES`) the client its `X-Forwarded-For` names.
 * - `GET /api/v1/events/{e}/join-code` (admin, staff, moderator) → the code, generated on first read.
 * - `POST /api/v1/events/{e}/join-code` `{"code"?}` (same) → sets the code, or rotates it to a generated one. Tokens
 *   already minted stay valid until they expire; the old code admits nobody new. Audited (without the code itself).
 *
 * Minting needs the hub to sign tokens (HS256). With an identity provider (`HUB_JWKS_URL`) the hub only verifies,
 * and all three answer `501 unavailable`: attendees then get their tokens from that provider.
 */
export function registerJoinRoutes(
  app: TemplatedApp,
  deps: { store: Store; verifier: TokenVerifier; log: Logger; onStatus?: (status: number) => void; proxies?: TrustedProxies },
): void {
  const { store, verifier } = deps;
  const proxies = deps.proxies ?? new TrustedProxies();
  const options = { log: deps.log, onStatus: deps.onStatus };
  const mint = verifier.mint?.bind(verifier);

  const signing = () => {
    if (!mint) {
      throw new ClientError(
        'unavailable',
        'joining with a code needs the hub to sign tokens (HS256), but this hub verifies tokens from an identity provider (HUB_JWKS_URL): issue attendee tokens there',
        501,
      );
    }
    return mint;
  };

  route(app, 'post', '/api/v1/events/:e/join', { ...options, bodyLimit: 4096 }, async (req): Promise<Reply> => {
    const sign = signing();
    const event = eventParam(req);
    const { code } = JoinRequest.parse(await jsonBody(req));
    const address = proxies.clientAddress(req.remoteAddress, req.header('x-forwarded-for')) || 'unknown';
    const limit = (bucket: 'join' | 'join-fail') => ({ event: ANY_EVENT, bucket, user: address, ...joinLimits[bucket === 'join' ? 'attempts' : 'failures'] });

    // An address that has used up its wrong guesses is refused before its code is compared: otherwise a right guess
    // would still be told apart from a wrong one.
    const locked = await rateLimitWait(store.db, limit('join-fail'));
    if (locked > 0) return tooMany(`too many wrong join codes from your address: try again in ${Math.ceil(locked / 1000)} s`, locked);
    const attempt = await takeRateToken(store.db, limit('join'));
    if (!attempt.allowed) return tooMany(`too many join attempts from your address: try again in ${Math.ceil(attempt.retryInMs / 1000)} s`, attempt.retryInMs);

    const expected = await readJoinCode(store.db, event);
    if (!expected || !sameCode(expected.code, code)) {
      await takeRateToken(store.db, limit('join-fail'));
      throw new ClientError('forbidden', `that join code is not valid for event "${event}"`);
    }
    // Opaque and random: it names this phone to moderators (chat authors, mutes) and to the one-vote rules, and
    // says nothing about the person.
    const sub = `att-${randomBytes(12).toString('base64url')}`;
    const ttl = joinLimits.tokenTtlSeconds;
    const token = await sign({ sub, role: 'attendee', events: [event] }, `${ttl}s`);
    const body: JoinResponse = { token, sub, role: 'attendee', event, expiresAt: Date.now() + ttl * 1000 };
    return { status: 201, body, headers: { 'cache-control': 'no-store' } };
  });

  route(app, 'get', '/api/v1/events/:e/join-code', options, async (req) => {
    signing();
    const { event } = await staffAccess(req);
    return { status: 200, body: (await ensureJoinCode(store.db, event)) satisfies JoinCodeState, headers: { 'cache-control': 'no-store' } };
  });

  route(app, 'post', '/api/v1/events/:e/join-code', { ...options, bodyLimit: 4096 }, async (req) => {
    signing();
    const { claims, event } = await staffAccess(req);
    const { code } = SetJoinCodeRequest.parse(await jsonBody(req));
    const state = await store.db.transaction().execute(async (trx) => {
      const { state, replaced } = await setJoinCode(trx, { event, code: code ?? generateJoinCode(), by: claims.sub });
      // The code is shown on screens, not secret for long, but the audit log is not where it should be copied.
      await appendAudit(trx, {
        actor: claims.sub,
        role: claims.role,
        action: 'join.code',
        event,
        target: event,
        after: { source: code === undefined ? 'generated' : 'chosen', replaced },
      });
      return state;
    });
    return { status: 200, body: state satisfies JoinCodeState, headers: { 'cache-control': 'no-store' } };
  });

  async function staffAccess(req: Request) {
    const claims = await authenticate(verifier, req);
    const event = eventParam(req);
    requireAccess(claims, event, joinCodeRoles);
    if (!(await eventExists(store.db, event))) throw new ClientError('not_found', `event "${event}" not found`);
    return { claims, event };
  }
}

function eventParam(req: Request): string {
  const value = req.params[0] ?? '';
  if (!Id.safeParse(value).success) throw new ClientError('invalid', `"${value}" is not a valid event id`);
  return value;
}

/** Compares in constant time (over fixed-length digests), so response timing does not leak a code's prefix. */
function sameCode(expected: string, given: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

function tooMany(message: string, retryInMs: number): Reply {
  return { status: 429, body: { error: 'rate_limited', message }, headers: { 'retry-after': String(Math.max(1, Math.ceil(retryInMs / 1000))) } };
}
