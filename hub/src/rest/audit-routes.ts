import type { TemplatedApp } from 'uWebSockets.js';
import { AuditQuery, Id } from '@opshub/schema';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { ClientError, describeZodError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { listAudit, type AuditEntry, type AuditFilter } from '../store/repos/audit-log.ts';
import type { Store } from '../store/store.ts';
import { csvField } from '../streams/leads/lead-csv.ts';
import { route, type Request } from '../transport/http-route.ts';
import { streamRoute } from '../transport/stream-route.ts';
import { authenticate, requireAccess } from './authenticate.ts';

/** The most rows one CSV export holds; narrow the filter for more. */
const CSV_MAX_ROWS = 100_000;
/** Rows per page of the CSV: one query and one chunk, short enough that other sockets are served between pages. */
const CSV_PAGE = 500;

/**
 * The event's audit log (issue 13), for admin and staff: `GET /api/v1/events/{e}/audit` (a page, newest first,
 * filtered by actor, action, object and time) and `GET /api/v1/events/{e}/audit.csv` (the same filter as CSV,
 * formula-safe like the leads export, at most 100,000 rows).
 */
export function registerAuditRoutes(
  app: TemplatedApp,
  deps: { store: Store; verifier: TokenVerifier; log: Logger; onStatus?: (status: number) => void },
): void {
  const { store, verifier } = deps;
  const options = { log: deps.log, onStatus: deps.onStatus };

  route(app, 'get', '/api/v1/events/:e/audit', options, async (req) => {
    const filter = await filterFor(req);
    const entries = await listAudit(store.db, filter);
    const next = entries.length === filter.limit ? entries.at(-1)!.id : null;
    return { status: 200, body: { entries: entries.map(toJson), next } };
  });

  // Streamed a page at a time as the client reads it, with a turn of the event loop between pages: 100,000 rows built
  // in memory and sent at once held every socket of the hub (issue #11).
  streamRoute(app, '/api/v1/events/:e/audit.csv', options, async (req) => {
    const filter = await filterFor(req);
    const event = req.params[0]!;
    async function* pages(): AsyncGenerator<string> {
      yield '\uFEFFid,at,actor,role,action,target,before,after\r\n';
      let beforeId = filter.beforeId;
      for (let rows = 0; rows < CSV_MAX_ROWS; ) {
        const page = await listAudit(store.db, { ...filter, beforeId, limit: Math.min(CSV_PAGE, CSV_MAX_ROWS - rows) });
        if (page.length > 0) yield page.map(csvRecord).join('');
        rows += page.length;
        if (page.length < CSV_PAGE) return;
        beforeId = page.at(-1)!.id;
      }
    }
    return {
      contentType: 'text/csv; charset=utf-8',
      headers: { 'content-disposition': `attachment; filename="audit-${event}.csv"` },
      chunks: pages(),
    };
  });

  async function filterFor(req: Request): Promise<AuditFilter & { limit: number }> {
    const claims = await authenticate(verifier, req);
    const event = req.params[0] ?? '';
    if (!Id.safeParse(event).success) throw new ClientError('invalid', `"${event}" is not a valid event id`);
    requireAccess(claims, event, ['admin', 'staff']);
    const parsed = AuditQuery.safeParse(Object.fromEntries(req.query));
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error));
    const { before, ...rest } = parsed.data;
    return { ...rest, event, beforeId: before };
  }
}

function toJson(e: AuditEntry) {
  return { ...e, at: new Date(e.at).getTime() };
}

function csvRecord(e: AuditEntry): string {
  const json = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v));
  return [e.id, new Date(e.at).toISOString(), e.actor, e.role, e.action, e.target, json(e.before), json(e.after)].map(csvField).join(',') + '\r\n';
}
