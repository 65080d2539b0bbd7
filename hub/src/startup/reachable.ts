import { connect } from 'node:net';

/** A backend named by the environment cannot be reached: says which variable, where, and why, in one line. */
export class BackendUnreachableError extends Error {
  override readonly name = 'BackendUnreachableError';
  constructor(
    readonly variable: string,
    readonly address: string,
    reason: string,
  ) {
    super(`${variable}: cannot reach ${address} (${reason}); is it running, and is ${variable} right?`);
  }
}

const reasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
};

/**
 * Resolves once a TCP connection to the URL's host and port succeeds, retrying refused connections until `waitMs`
 * has passed (a database starting beside the hub in docker compose); rejects with {@link BackendUnreachableError}.
 * Only reachability: credentials and database names are the driver's to check.
 * @example await waitReachable('DATABASE_URL', 'postgres://db:5432/opshub', 5432);
 */
export async function waitReachable(variable: string, url: string, defaultPort: number, waitMs = 5_000): Promise<void> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  await waitAnyReachable(variable, [{ host, port: Number(parsed.port || defaultPort) }], waitMs);
}

/**
 * Like {@link waitReachable} for a list of seed addresses (a Redis Cluster's): resolves once any one of them accepts
 * a TCP connection, since a client discovers the rest from it.
 * @example await waitAnyReachable('REDIS_CLUSTER_NODES', [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7000 }]);
 */
export async function waitAnyReachable(variable: string, nodes: readonly { readonly host: string; readonly port: number }[], waitMs = 5_000): Promise<void> {
  const address = nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
  const deadline = Date.now() + waitMs;
  for (;;) {
    const timeoutMs = Math.max(500, Math.min(3000, deadline - Date.now()));
    const failures = await Promise.all(nodes.map(({ host, port }) => tryConnect(host, port, timeoutMs)));
    if (failures.some((failure) => failure === undefined)) return;
    const failure = failures[0]!;
    if (Date.now() >= deadline || failures.every((f) => f === 'ENOTFOUND')) throw new BackendUnreachableError(variable, address, reasons[failure!] ?? failure!);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function tryConnect(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (failure: string | undefined) => {
      socket.destroy();
      resolve(failure);
    };
    socket.setTimeout(timeoutMs, () => done('ETIMEDOUT'));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
