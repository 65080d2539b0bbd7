import { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import type { PgliteQueryable } from './pglite-client.ts';

/**
 * A kysely dialect for one PGlite instance, built on kysely-pglite's driver with three repairs:
 * - **one connection at a time.** kysely-pglite hands every caller a "connection" onto the same PGlite session, so a
 *   query from one caller could run inside another caller's open transaction, or be rolled back by it. Here a
 *   connection is exclusive from acquire to release, like a pool of one, handed on in order; callers through the
 *   urgent handle ({@link pgliteDialects}) first;
 * - **affected-row counts.** kysely reads `numAffectedRows`, PGlite reports `affectedRows`;
 * - **the hub's kysely.** kysely-pglite brings its own older kysely copy; adapter, compiler and introspector come from
 *   the hub's, so migration locking and SQL generation match the kysely that built the query.
 *
 *
 * PGlite in this thread goes through kysely-pglite's driver; PGlite in a worker (`PgliteWorkerClient`) through
 * {@link QueryableDriver}, the same three statements (`BEGIN`, `COMMIT`, `ROLLBACK`) around the queries.
 * @example const db = new Kysely<Database>({ dialect: pgliteDialect(await PGlite.create()) });
 */
export function pgliteDialect(pglite: PGlite | PgliteQueryable): Dialect {
  return pgliteDialects(pglite).ordinary;
}

/**
 * Two dialects over one PGlite session and one queue for it: a Kysely on `urgent` is handed the session before every
 * caller of `ordinary` that waits (it still waits for the one holding it). Why: PGlite has one session, so
 * transactions take turns, and after a burst of scans the queue holds check-in transactions of up to 2,000 scans
 * (100–570 ms each on a loaded machine); the control room's levers and announcements must not wait behind them
 * (the Store's `urgentDb`, docs/gates.md). Destroying the ordinary one closes PGlite; the urgent one closes nothing.
 * @example const { ordinary, urgent } = pgliteDialects(pglite); const db = new Kysely({ dialect: ordinary }); const urgentDb = new Kysely({ dialect: urgent });
 */
export function pgliteDialects(pglite: PGlite | PgliteQueryable): { ordinary: Dialect; urgent: Dialect } {
  // kysely-pglite types its driver against its own kysely copy; the shapes are the same.
  const driver = pglite instanceof PGlite ? (new KyselyPGlite(pglite).dialect.createDriver() as unknown as Driver) : new QueryableDriver(pglite);
  const session = new SessionQueue(driver);
  const dialect = (urgent: boolean): Dialect => ({
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new ExclusiveDriver(driver, session, urgent),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  });
  return { ordinary: dialect(false), urgent: dialect(true) };
}

/** Who holds the one session, and who waits for it, in order, the urgent callers first. */
class SessionQueue {
  /** whether a caller holds the session (from acquire to release) */
  held = false;
  /** the connection handed out last: only its release hands the session on */
  current: DatabaseConnection | undefined;
  readonly #urgent: (() => void)[] = [];
  readonly #ordinary: (() => void)[] = [];
  #init: Promise<void> | undefined;

  constructor(private readonly inner: Driver) {}

  /** The inner driver's init, once for both dialects. */
  init(): Promise<void> {
    return (this.#init ??= this.inner.init());
  }

  /** Resolves when the caller holds the session. */
  async take(urgent: boolean): Promise<void> {
    if (this.held) await new Promise<void>((resolve) => (urgent ? this.#urgent : this.#ordinary).push(resolve));
    this.held = true;
  }

  /** Gives the session to the next waiting caller, an urgent one first; `held` stays set across the hand-over. */
  handOn(): void {
    const next = this.#urgent.shift() ?? this.#ordinary.shift();
    if (next) next();
    else this.held = false;
  }
}

class ExclusiveDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly session: SessionQueue,
    private readonly urgent: boolean,
  ) {}

  init(): Promise<void> {
    return this.session.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.session.take(this.urgent);
    try {
      this.session.current = new CountingConnection(await this.inner.acquireConnection());
      return this.session.current;
    } catch (error) {
      this.session.handOn();
      throw error;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.releaseConnection(unwrap(connection));
    } finally {
      if (connection === this.session.current) {
        this.session.current = undefined;
        this.session.handOn();
      }
    }
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.inner.beginTransaction(unwrap(connection), settings);
    // kysely-pglite ignores the settings; `set transaction` right after `begin` applies them.
    const modes = [settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode].filter(Boolean);
    if (modes.length > 0) await connection.executeQuery(CompiledQuery.raw(`set transaction ${modes.join(' ')}`));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(unwrap(connection));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(unwrap(connection));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`));
  }

  /** Closes PGlite: only the ordinary dialect's Kysely does, the urgent one shares it. */
  async destroy(): Promise<void> {
    if (!this.urgent) await this.inner.destroy();
  }
}

class CountingConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // PGlite's own result shape, whatever kysely-pglite's types say
    const result = (await this.inner.executeQuery(query)) as unknown as { rows: R[]; affectedRows?: number };
    return { rows: result.rows, numAffectedRows: BigInt(result.affectedRows ?? 0) };
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery(query, chunkSize);
  }
}

/** kysely's driver over anything that runs a statement on one PGlite session (the worker client). */
class QueryableDriver implements Driver {
  readonly #connection: DatabaseConnection;

  constructor(private readonly client: PgliteQueryable) {
    this.#connection = {
      executeQuery: async <R>(query: CompiledQuery) => (await client.query<R>(query.sql, [...query.parameters])) as unknown as QueryResult<R>,
      streamQuery: () => {
        throw new Error('PGlite does not support streaming');
      },
    };
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('BEGIN'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('COMMIT'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('ROLLBACK'));
  }

  destroy(): Promise<void> {
    return this.client.close();
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof CountingConnection ? connection.inner : connection;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
