import type { TemplatedApp } from 'uWebSockets.js';
import type { Logger } from '../log.ts';
import { route } from '../transport/http-route.ts';

/**
 * `GET /`: until the console is built and served here, a plain page that says what this is and where to look.
 */
export function registerRootPage(app: TemplatedApp, deps: { log: Logger }): void {
  route(app, 'get', '/', deps, () => ({
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: `<!doctype html><html lang="en"><meta charset="utf-8"><title>opshub</title>
<body style="font:18px system-ui;max-width:40rem;margin:3rem auto">
<h1>opshub hub is running</h1>
<p>Health: <a href="/healthz">/healthz</a> · Metrics: <a href="/metrics">/metrics</a></p>
<p>WebSocket: <code>/ws?token=JWT</code> · REST: <code>/api/v1</code> (see docs/api.md and docs/protocol.md).</p>
</body></html>`,
  }));
}
