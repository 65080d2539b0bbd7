import type { TemplatedApp } from 'uWebSockets.js';
import { Id } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { shownCounts } from '../store/repos/announcement-views-repo.ts';
import { listAnnouncements } from '../store/repos/announcements-repo.ts';
import type { Store } from '../store/store.ts';
import { route } from '../transport/http-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';
import { AnnouncementsQuery } from '@opshub/schema/rest-queries';

/**
 * `GET /api/v1/events/{e}/announcements?limit=N`: the latest announcements, newest first (any role of the event);
 * admin and staff also get `shown`, how many screens showed each.
 */
export function registerAnnouncementRoutes(
  app: TemplatedApp,
  deps: { store: Store; verifier: TokenVerifier; log: Logger; onStatus?: (status: number) => void },
): void {
  route(app, 'get', '/api/v1/events/:e/announcements', deps, async (req) => {
    const claims = await authenticate(deps.verifier, req);
    const event = req.params[0] ?? '';
    if (!Id.safeParse(event).success) throw new ClientError('invalid', `"${event}" is not a valid event id`);
    requireAccess(claims, event);
    // Lenient on purpose (older clients send odd limits): out of range or not a number falls back into 1–500.
    const parsed = AnnouncementsQuery.safeParse({ limit: req.query.get('limit') ?? undefined });
    const limit = parsed.success ? parsed.data.limit : Math.min(Math.max(Number(req.query.get('limit')) || 50, 1), 500);
    const rows = await listAnnouncements(deps.store.db, event, limit);
    // How many screens showed each (issue 12) is the control room's business, not the audience's.
    const counts = claims.role === 'admin' || claims.role === 'staff' ? await shownCounts(deps.store.db, rows.map((r) => r.id)) : undefined;
    const body = rows.map(({ holdGates, endedAt, endedBy, ...row }) => ({
      ...row,
      ...(holdGates ? { holdGates } : {}),
      ...(endedAt ? { endedAt: endedAt.toISOString(), endedBy: endedBy ?? '' } : {}),
      ...(counts ? { shown: counts.get(row.id) } : {}),
    }));
    return { status: 200, body };
  });
}
