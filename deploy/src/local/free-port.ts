import { createServer } from 'node:net';

/**
 * A loopback TCP port nothing listens on right now (bound once, then released). Another process may take it before
 * the caller does: whoever starts a server on it must be ready to pick another and retry.
 * @example const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
