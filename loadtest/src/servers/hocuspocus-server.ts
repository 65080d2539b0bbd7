/**
 * The second gate-partition peer: Hocuspocus (`@hocuspocus/server` 2) as its docs show it, in-memory docs, no
 * extensions, no authentication hook, reached by its own `HocuspocusProvider`. Every doc name is the provider's
 * `name`, so `event/{e}/gate` is one shared doc, as on the hub.
 *
 * Environment (set by the driver): BENCH_DATA_DIR is unused; nothing is published in-process (`publish` is a no-op).
 */
import { Server } from '@hocuspocus/server';
import { runServer } from './server-runtime.ts';

const server = Server.configure({ port: 0, address: '127.0.0.1', quiet: true });
await server.listen();

runServer({
  port: server.address.port,
  publish() {},
  connections: () => server.getConnectionsCount(),
  close: async () => {
    await server.destroy();
  },
});
