/**
 * Whether an error means the Store could not be reached (PostgreSQL restarting, the network to it gone, the pool
 * unable to connect in time), as opposed to a query that was wrong. A client told `unavailable` (503) knows to retry;
 * `internal` (500) would say the hub is broken, which it is not (issue #18's chaos drill saw commands refused
 * `internal` for the seconds PostgreSQL was down).
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // SQLSTATE class 08: connection exception; 57P01–57P03: the server is shutting down, crashed, or not yet accepting.
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code)) return true;
    // Socket errors from node:net while connecting or mid-query.
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  }
  // node-postgres raises these as plain Errors without a code.
  return /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(error.message);
}
