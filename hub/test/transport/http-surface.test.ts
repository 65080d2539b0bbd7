import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationId } from '@opshub/schema/openapi/openapi-document';
import { matches, RouteTable } from '../../src/transport/route-table.ts';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** A concrete path for a uWS pattern: every parameter and wildcard becomes `x`. */
function pathFor(pattern: string): string {
  return pattern.replace(/:[^/]+/g, 'x').replace(/\*$/, 'x');
}

async function ask(hub: TestHub, method: string, path: string): Promise<{ status: number; allow: string | null; body: unknown }> {
  const res = await fetch(`${hub.httpUrl}${path}`, { method, ...(method === 'GET' || method === 'HEAD' ? {} : { body: '{}', headers: { 'content-type': 'application/json' } }) });
  const text = await res.text();
  return { status: res.status, allow: res.headers.get('allow'), body: text ? JSON.parse(text) : undefined };
}

describe('route patterns', () => {
  it('matches parameters as one non-empty segment and a trailing wildcard as the rest', () => {
    expect(matches('/api/v1/events/:e', '/api/v1/events/expo')).toBe(true);
    expect(matches('/api/v1/events/:e', '/api/v1/events/')).toBe(false);
    expect(matches('/api/v1/events/:e', '/api/v1/events/expo/tickets')).toBe(false);
    expect(matches('/yjs/*', '/yjs/event/expo/gate')).toBe(true);
    expect(matches('/api/v1/events/:e/exhibitors/:x/leads.csv', '/api/v1/events/a/exhibitors/b/leads.csv')).toBe(true);
    const table = new RouteTable();
    table.add('get', '/*');
    table.add('del', '/api/v1/things/:t');
    table.add('get', '/api/v1/things/:t');
    expect(table.methodsFor('/api/v1/things/1')).toEqual(['GET', 'DELETE']);
    expect(table.methodsFor('/anything')).toEqual([]);
  });
});

describe('every request gets an HTTP answer', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub?.close());

  it('streams an answer of unknown length (a CSV export) in well-formed chunks, each header once', async () => {
    const admin = { role: 'admin' as const, events: ['*'] };
    expect((await hub.api('/api/v1/events', { method: 'POST', claims: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(expoEvent) })).status).toBe(201);
    const res = await hub.api('/api/v1/events/expo/audit.csv', { claims: admin });
    expect(res.status).toBe(200);
    // Read to the end: a chunk framing broken after the first chunk fails here (through a socket worker it did).
    const lines = (await res.text()).replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('id,at,actor,role,action,target,before,after');
    expect(lines.slice(1).map((line) => line.split(',')[4])).toContain('event.create');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('uwebsockets'), 'one server header, not the main thread\'s and the worker\'s').not.toContain(',');
  });

  it('answers every method on an unknown path with 404 and the JSON error body', async () => {
    for (const path of ['/api/v1/nope', '/api/v1/events/expo/nope/deeper', '/nope']) {
      for (const method of methods) {
        // GET on a path outside /api/ is a console client route (the SPA shell), not an unknown path.
        if (method === 'GET' && !path.startsWith('/api/')) continue;
        const answer = await ask(hub, method, path);
        expect(answer, `${method} ${path}`).toMatchObject({ status: 404, body: { error: 'not_found' } });
        expect((answer.body as { message: string }).message).toContain(path);
      }
    }
  });

  it('answers a wrong method on every known route with 405, an Allow header naming the right ones, and the JSON body', async () => {
    const routes = hub.hub.routes.filter((r) => r.pattern !== '/*');
    expect(routes.length).toBeGreaterThan(30);
    let checked = 0;
    for (const pattern of new Set(routes.map((r) => r.pattern))) {
      const path = pathFor(pattern);
      // Every route that serves this concrete path: `/tickets/issue` (POST) is also a `/tickets/{code}` (GET).
      const allowed = [...new Set(routes.filter((r) => matches(r.pattern, path)).map((r) => r.method))];
      for (const method of methods) {
        if (allowed.includes(method)) continue;
        const answer = await ask(hub, method, path);
        expect(answer.status, `${method} ${path}`).toBe(405);
        expect(answer.body, `${method} ${path}`).toMatchObject({ error: 'method_not_allowed' });
        expect(answer.allow?.split(', ').sort(), `${method} ${path}`).toEqual([...allowed, 'OPTIONS'].sort());
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    // OPTIONS says what a known path allows.
    const options = await fetch(`${hub.httpUrl}/api/v1/events`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toContain('POST');
  });

  it('serves an OpenAPI 3.1 document that validates and describes exactly the routes the hub registers', async () => {
    const res = await fetch(`${hub.httpUrl}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(doc.openapi).toBe('3.1.0');

    const validator = new Validator();
    const result = await validator.validate(doc as never);
    expect(result.errors ?? [], 'OpenAPI validation errors').toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');

    // Every HTTP route the hub registered (the WebSocket upgrades and the console's catch-all are not REST) …
    const served = hub.hub.routes
      .filter((r) => r.pattern !== '/*' && r.pattern !== '/ws' && !r.pattern.startsWith('/yjs/'))
      .map((r) => `${r.method} ${r.pattern.replace(/:([^/]+)/g, '{$1}')}`)
      .sort();
    // … and every operation the document describes, the same set both ways.
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(documented.filter((r) => !served.includes(r)), 'documented but not served').toEqual([]);
    expect(served.filter((r) => !documented.includes(r)), 'served but missing from the OpenAPI document (add it to schema/src/openapi/rest-operations.ts)').toEqual([]);

    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(operationId({ method: 'post', path: '/api/v1/events/{e}/tickets/{code}/revoke' })).toBe('postEventsTicketsRevoke');
  });
});
