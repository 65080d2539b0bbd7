import { connect, createServer } from 'node:net';

/** The port is held by a listening server: another hub (uWS shares ports through SO_REUSEPORT) or another program. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`port ${port} is already in use (something is listening on ${host}:${port}, perhaps another opshub): stop it, or set PORT to a free port`);
  }
}

/**
 * Whether a plain listening socket can take `host:port` right now.
 *
 * uWebSockets.js listens with SO_REUSEPORT, so a second hub on a taken port binds without error and the kernel then
 * splits connections between the two at random. A Node server does not set SO_REUSEPORT: its bind fails with
 * EADDRINUSE while anyone listens there, which is the check uWS lacks.
 * @example if (!(await portIsFree('0.0.0.0', 8080))) …
 */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Whether a server accepts connections on `host:port` (a wildcard host is asked on loopback). Tells a port held by
 * a listener (refuse at once) from one held for a moment by something else (worth a retry).
 */
export function someoneListens(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new Promise((resolve) => {
    const socket = connect({ host: target, port });
    const done = (listening: boolean) => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
