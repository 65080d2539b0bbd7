import type { TemplatedApp } from 'uWebSockets.js';

/** An HTTP method as a route is registered with it, upper-case (`GET`, `POST`, …). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One registered route: its method and its uWS pattern (`/api/v1/events/:e`, `/yjs/*`). */
export interface RouteEntry {
  readonly method: HttpMethod;
  readonly pattern: string;
}

const methodOf: Record<string, HttpMethod> = { get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE', delete: 'DELETE' };

/**
 * Every route registered on one uWS app, in registration order.
 *
 * uWS cannot list its routes, and answers nothing at all for a request no handler claims (the client sees the
 * connection closed: "Empty reply from server"). The table is what the catch-all uses to choose between `404` and
 * `405` with `Allow`, and what the OpenAPI check compares the document with.
 */
export class RouteTable {
  readonly #entries: RouteEntry[] = [];

  /** Records a route; `method` as uWS names it (`get`, `del`, …) or upper-case. Catch-alls (`any`) are not routes. */
  add(method: string, pattern: string): void {
    const normalised = methodOf[method.toLowerCase()];
    if (!normalised) return;
    if (this.#entries.some((e) => e.method === normalised && e.pattern === pattern)) return;
    this.#entries.push({ method: normalised, pattern });
  }

  get entries(): readonly RouteEntry[] {
    return this.#entries;
  }

  /**
   * The methods some route answers for `path`, in a stable order. The console's `GET /*` is left out: it is the
   * fallback for client routes, not a resource, so it makes no path "known".
   * @example table.methodsFor('/api/v1/events/expo') // ['GET', 'PATCH']
   */
  methodsFor(path: string): HttpMethod[] {
    const found = new Set<HttpMethod>();
    for (const entry of this.#entries) {
      if (entry.pattern === '/*') continue;
      if (matches(entry.pattern, path)) found.add(entry.method);
    }
    return (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter((m) => found.has(m));
  }
}

/** uWS pattern semantics: `:name` is one non-empty segment, a trailing `*` anything after it. */
export function matches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.split('/');
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w === '*' && i === want.length - 1) return true;
    const g = got[i];
    if (g === undefined) return false;
    if (w.startsWith(':')) {
      if (g === '') return false;
    } else if (w !== g) {
      return false;
    }
  }
  return got.length === want.length;
}

// One table per app: routes are registered through free functions (`route(app, …)`) all over the hub, and a side
// table keyed by the app object keeps their signatures as they are.
const tables = new WeakMap<TemplatedApp, RouteTable>();

/** The route table of `app`, created on first use. */
export function routeTableOf(app: TemplatedApp): RouteTable {
  let table = tables.get(app);
  if (!table) {
    table = new RouteTable();
    tables.set(app, table);
  }
  return table;
}
