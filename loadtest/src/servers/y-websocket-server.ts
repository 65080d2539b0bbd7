/**
 * The gate-partition baseline: the y-websocket reference server (`@y/websocket-server`'s `setupWSConnection` on a
 * `ws` WebSocketServer, in-memory docs, no persistence), as its own `bin/server.js` runs it, under the driver.
 * Every doc name is the request path, so `event/{e}/gate` is one shared doc, as on the hub.
 *
 * Environment (set by the driver): BENCH_DATA_DIR is unused; nothing is published in-process (`publish` is a no-op).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setupWSConnection } from '@y/websocket-server/utils';
import { WebSocketServer } from 'ws';
import { runServer } from './server-runtime.ts';

const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server: http, maxPayload: 64 * 1024 * 1024 });
wss.on('connection', (conn, req) => setupWSConnection(conn, req));
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

runServer({
  port: (http.address() as AddressInfo).port,
  publish() {},
  connections: () => wss.clients.size,
  close: () =>
    new Promise<void>((resolve) => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.close(() => resolve());
    }),
});
