import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '@opshub/schema/db';
import { migrateToLatest } from '../migrate.ts';
import type { Store } from '../store.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database` (the hub's DATABASE_URL). */
  readonly url: string;
  /**
   * Keep every table in this schema (created if missing) instead of the connection's default (`public`), by setting
   * `search_path` on each connection. Tests use a fresh schema per run.
   */
  readonly schema?: string | undefined;
  /** Pool size per hub process (default 10). */
  readonly maxConnections?: number | undefined;
  /**
   * Told about errors on pooled connections, idle or in use (a PostgreSQL restart, a dropped network). The pool
   * replaces a broken connection by itself; without a listener node-postgres would crash the process.
   */
  readonly onIdleError?: ((error: Error) => void) | undefined;
  /**
   * How long a query waits for a pooled connection to PostgreSQL before it fails (default 10,000 ms). Without it a
   * command made while PostgreSQL is down waits as long as the OS keeps trying to connect, and the client sees nothing.
   */
  readonly connectTimeoutMs?: number | undefined;
}

/**
 * The distributed Store: PostgreSQL through node-postgres, shared by every hub process.
 *
 * @example
 * const store = new PostgresStore({ url: process.env.DATABASE_URL! });
 * await store.start(); // connects and migrates
 * await store.close();
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly #options: PostgresStoreOptions;
  #db: Kysely<Database> | undefined;
  /** the health probe's own connection, opened on first use and again after it breaks */
  #probe: Promise<pg.Client> | undefined;

  constructor(options: PostgresStoreOptions) {
    this.#options = options;
  }

  get db(): Kysely<Database> {
    if (!this.#db) throw new Error('PostgresStore is not started: call start() first');
    return this.#db;
  }

  /** PostgreSQL has a pool: nothing waits for one session, so urgent work needs no handle of its own. */
  get urgentDb(): Kysely<Database> {
    return this.db;
  }

  async start(): Promise<void> {
    if (this.#db) return;
    const { url, schema, maxConnections = 10, onIdleError = () => {}, connectTimeoutMs = 10_000 } = this.#options;
    const pool = new pg.Pool({ connectionString: url, max: maxConnections, connectionTimeoutMillis: connectTimeoutMs });
    pool.on('error', onIdleError);
    // The pool listens for errors only on idle connections: one checked out when PostgreSQL goes away (a query in
    // flight, or a transaction between two queries) emits 'error' with nobody listening, which kills the process.
    // Its query fails by itself and the pool drops the broken connection on release; the event only needs a listener.
    pool.on('connect', (client) => client.on('error', onIdleError));
    const searchPath = schema === undefined ? undefined : CompiledQuery.raw(`set search_path to ${quoteIdent(schema)}`);
    this.#db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool,
        // Once per physical connection, before kysely uses it for anything.
        onCreateConnection: searchPath ? async (connection) => void (await connection.executeQuery(searchPath)) : undefined,
      }),
    });
    try {
      if (schema !== undefined) await createSchema(this.#db, schema);
      await migrateToLatest(this.#db, { schema });
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * `select 1` on a connection of its own, outside the pool: a pool whose ten connections are all busy with a roster
   * import answers slowly but is not down, and must not take the hub out of a load balancer's rotation.
   */
  async ping(): Promise<void> {
    if (!this.#db) throw new Error('PostgresStore is not started');
    this.#probe ??= this.#connectProbe();
    const probe = this.#probe;
    try {
      await (await probe).query('select 1');
    } catch (error) {
      // A broken connection (the server restarted, the network dropped): the next ping opens a new one.
      if (this.#probe === probe) this.#probe = undefined;
      void probe.then((client) => client.end()).catch(() => {});
      throw error;
    }
  }

  async #connectProbe(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#options.url, connectionTimeoutMillis: 2000, query_timeout: 2000 });
    // Errors on the idle probe connection surface at the next ping; unhandled they would crash the process.
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  async close(): Promise<void> {
    const db = this.#db;
    const probe = this.#probe;
    this.#db = undefined;
    this.#probe = undefined;
    await probe?.then((client) => client.end()).catch(() => {});
    await db?.destroy(); // ends the pool
  }
}

async function createSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // `if not exists` still races with a concurrent creator on PostgreSQL (unique violation on pg_namespace)
    if ((error as { code?: string }).code !== '23505') throw error;
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
