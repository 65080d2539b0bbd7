import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

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

/**
 * A loopback UDP port nothing is bound to right now (bound once, then released); same caveat as {@link freePort}.
 * @example const port = await freeUdpPort();
 */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
