/**
 * Errors the Store raises with enough context to act on. `ConflictError` and `NotFoundError` messages are safe to
 * show to a client (`hub/src/errors.ts` maps them to `conflict` / `not_found`); the others are operator-facing.
 */

/** Something with this key already exists. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    readonly entity: string,
    readonly key: string,
    message = `${entity} "${key}" already exists`,
  ) {
    super(message);
  }
}

/** Nothing with this key exists. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(
    readonly entity: string,
    readonly key: string,
    message = `${entity} "${key}" not found`,
  ) {
    super(message);
  }
}

/** Another live process owns the PGlite data folder; opening it twice would corrupt it. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `another opshub process (pid ${pid}) uses DATA_DIR ${dataDir}; stop it or choose another DATA_DIR ` +
        `(if no such process is running, delete ${lockFile})`,
    );
  }
}

/** A schema migration failed; the database stays at the last migration that succeeded. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    /** the failing migration's name, or undefined when the migrator failed before running any */
    readonly migration: string | undefined,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(migration ? `migration ${migration} failed: ${reason}` : `migrations could not run: ${reason}`, options);
  }
}

/** A ticket CSV that cannot be read as a roster at all (bad header, broken quoting); the client's fault (`invalid`). */
export class TicketCsvError extends Error {
  override readonly name = 'TicketCsvError';
  constructor(
    message: string,
    /** 1-based line in the file, when known */
    readonly line?: number,
  ) {
    super(line === undefined ? message : `CSV line ${line}: ${message}`);
  }
}

/**
 * True when the Store refused a value rather than failed: SQLSTATE class 22 (data exception: a timestamp out of
 * range, a NUL in text), 23 (integrity constraint) or 54 (program limit, e.g. an index row too large). Retrying the
 * same record fails the same way, so a caller sets it aside instead; anything else (connection lost, the bus down,
 * a serialization failure) is worth retrying.
 * @example catch (err) { if (isRecordError(err)) setAside(record); else throw err; }
 */
export function isRecordError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}
