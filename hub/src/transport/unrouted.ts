import type { TemplatedApp } from 'uWebSockets.js';
import type { Logger } from '../log.ts';
import { route, type Reply } from './http-route.ts';
import { routeTableOf, type RouteTable } from './route-table.ts';

/**
 * The answer for a request no route claimed: `405` with `Allow` when the path is known under other methods,
 * `204` with `Allow` for `OPTIONS` on a known path, `404` otherwise; always the JSON error body.
 * @example unroutedReply(table, 'DELETE', '/api/v1/events') // { status: 405, headers: { allow: 'POST' }, … }
 */
export function unroutedReply(table: RouteTable, method: string, path: string): Reply {
  const allowed = table.methodsFor(path);
  const verb = method.toUpperCase();
  if (allowed.length === 0) return { status: 404, body: { error: 'not_found', message: `no route for ${verb} ${path}` } };
  const allow = [...allowed, 'OPTIONS'];
  if (verb === 'OPTIONS') return { status: 204, body: '', headers: { allow: allow.join(', ') } };
  return {
    status: 405,
    body: { error: 'method_not_allowed', message: `${verb} is not allowed on ${path}; allowed: ${allowed.join(', ')}` },
    headers: { allow: allow.join(', ') },
  };
}

/**
 * Registers the catch-all for every method uWS would otherwise leave unanswered (it closes the connection without
 * a response). uWS tries method routes and `GET /*` (the console) before `any`, so this sees only what nothing
 * else claimed. Register it last; it reads the route table at request time, so routes added later count too.
 */
export function registerUnrouted(app: TemplatedApp, options: { log: Logger; onStatus?: (status: number) => void }): void {
  const table = routeTableOf(app);
  route(app, 'any', '/*', options, (req) => unroutedReply(table, req.method, req.path));
}
