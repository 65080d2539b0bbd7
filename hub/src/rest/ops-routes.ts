import type { TemplatedApp } from 'uWebSockets.js';
import type { Analytics } from '../analytics/analytics.ts';
import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../log.ts';
import type { HubMetrics } from '../metrics.ts';
import type { Store } from '../store/store.ts';
import { openApiDocument } from '@opshub/schema/openapi/openapi-document';
import { route } from '../transport/http-route.ts';

/**
 * `GET /healthz` (200 when the bus and the Store answer, 503 with the same body and `problems` otherwise, and 503 with `draining: true`
 * while a SIGTERM'd hub drains), `GET /metrics` and `GET /api/v1/openapi.json`. The health body always names the
 * backends in use, as the contract says.
 */
export function registerOpsRoutes(
  app: TemplatedApp,
  deps: { bus: Bus; store: Store; analytics: Analytics; metrics: HubMetrics; log: Logger; draining?: () => boolean; storeHealthy?: () => boolean },
): void {
  const { bus, store, analytics, metrics, log } = deps;
  route(app, 'get', '/healthz', { log }, () => {
    const problems = [
      ...(bus.isHealthy() ? [] : [`${bus.kind} bus unreachable`]),
      // Every write goes through the Store: a hub that cannot reach it should get no new clients while another can.
      ...((deps.storeHealthy?.() ?? true) ? [] : [`${store.kind} store unreachable`]),
      ...(deps.draining?.() ? ['draining: this hub is shutting down'] : []),
    ];
    const ok = problems.length === 0;
    return {
      status: ok ? 200 : 503,
      body: { ok, bus: bus.kind, store: store.kind, analytics: analytics.kind, ...(deps.draining?.() ? { draining: true } : {}), ...(ok ? {} : { problems }) },
    };
  });
  route(app, 'get', '/metrics', { log }, async () => ({
    status: 200,
    body: await metrics.scrape(),
    contentType: metrics.registry.contentType,
  }));
  // Generated once, on first request: it is the same for the life of the process.
  let openApi: string | undefined;
  route(app, 'get', '/api/v1/openapi.json', { log }, () => {
    openApi ??= JSON.stringify(openApiDocument());
    return { status: 200, body: openApi, contentType: 'application/json', headers: { 'cache-control': 'no-cache' } };
  });
}
