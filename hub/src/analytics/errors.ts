/** Raised by `flush()` or `query()` before `start()`. */
export class AnalyticsNotStartedError extends Error {
  override readonly name = 'AnalyticsNotStartedError';
  constructor(readonly kind: string) {
    super(`analytics (${kind}) is not started`);
  }
}

/** Raised by `flush()` or `query()` once `close()` has begun. */
export class AnalyticsClosedError extends Error {
  override readonly name = 'AnalyticsClosedError';
  constructor(readonly kind: string) {
    super(`analytics (${kind}) is closed`);
  }
}

/** `start()` could not reach the backend or create the tables; `statement` is the DDL that failed, if any. */
export class AnalyticsStartError extends Error {
  override readonly name = 'AnalyticsStartError';
  constructor(
    readonly kind: string,
    readonly statement: string | undefined,
    options: { cause: unknown },
  ) {
    super(`analytics (${kind}) failed to start${statement ? ` at: ${statement.slice(0, 80)}…` : ''}: ${describe(options.cause)}`, options);
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
