import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { access, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Database } from '@opshub/schema/db';
import { migrateToLatest } from '../migrate.ts';
import type { Store } from '../store.ts';
import { BYTEA_OID, parseBytea, serializeBytea } from './bytea-codec.ts';
import { pgliteSettings, PgliteWorkerClient, type PgliteMemory, type PgliteQueryable } from './pglite-client.ts';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { pgliteDialects } from './pglite-dialect.ts';
import { readPgliteTemplate } from './pglite-template.ts';

export interface PgliteStoreOptions {
  /** The hub's DATA_DIR: the database lives in `<dataDir>/pg`, the lock in `<dataDir>/pg.lock`. Omit for in-memory. */
  readonly dataDir?: string | undefined;
  /**
   * A template tarball (`writePgliteTemplate`) a new database starts from instead of being created empty
   * (`PGLITE_TEMPLATE`; the test run sets it). An existing database is opened as it is; migrations run either way.
   */
  readonly template?: string | undefined;
  /**
   * Run PGlite in a worker thread (default), so its queries never hold the thread that serves the sockets: deriving
   * check-ins during a burst of scans and large imports were most of the hub's thread (issues #19, #11). `false`
   * runs it on the caller's thread (`PGLITE_WORKER=0`).
   */
  readonly worker?: boolean | undefined;
}

/**
 * The embedded Store: PostgreSQL compiled to wasm (PGlite) inside the hub process, nothing to install.
 *
 * With a `dataDir`, the folder is owned by one process at a time (see {@link lockDataDir}); without one the database
 * lives in memory and vanishes on `close()` (tests).
 *
 * @example
 * const store = new PgliteStore({ dataDir: './data' });
 * await store.start(); // throws DataDirLockedError if another hub runs on ./data
 * await store.db.selectFrom('events').selectAll().execute();
 * await store.close();
 */
export class PgliteStore implements Store {
  readonly kind = 'pglite';
  readonly #dataDir: string | undefined;
  readonly #template: string | undefined;
  readonly #worker: boolean;
  #db: Kysely<Database> | undefined;
  #urgentDb: Kysely<Database> | undefined;
  #pglite: PGlite | PgliteQueryable | undefined;
  #lock: DataDirLock | undefined;

  constructor(options: PgliteStoreOptions = {}) {
    this.#dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
    this.#template = options.template;
    this.#worker = options.worker ?? true;
  }

  get db(): Kysely<Database> {
    if (!this.#db) throw new Error('PgliteStore is not started: call start() first');
    return this.#db;
  }

  get urgentDb(): Kysely<Database> {
    if (!this.#urgentDb) throw new Error('PgliteStore is not started: call start() first');
    return this.#urgentDb;
  }

  async start(): Promise<void> {
    if (this.#db) return;
    try {
      const pglite = await this.#open();
      this.#pglite = pglite;
      const dialects = pgliteDialects(pglite);
      this.#db = new Kysely<Database>({ dialect: dialects.ordinary });
      this.#urgentDb = new Kysely<Database>({ dialect: dialects.urgent });
      await migrateToLatest(this.#db);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** In-process: reachable whenever it is open (a query would only wait behind this hub's own long work). */
  async ping(): Promise<void> {
    if (!this.#db) throw new Error('PgliteStore is not started');
  }

  /**
   * What PGlite holds in memory: its wasm memory and, in a worker, that thread's V8 heap (0 in-thread: it is the
   * hub's own heap then). For the bench's memory split; undefined before `start()`.
   */
  async memory(): Promise<PgliteMemory | undefined> {
    const pglite = this.#pglite;
    if (!pglite) return undefined;
    if (pglite instanceof PgliteWorkerClient) return pglite.memory();
    const wasm = (pglite as unknown as { mod?: { HEAPU8?: Uint8Array } }).mod?.HEAPU8?.byteLength ?? 0;
    return { wasmBytes: wasm, heapUsedBytes: 0 };
  }

  async close(): Promise<void> {
    this.#pglite = undefined;
    const db = this.#db;
    const lock = this.#lock;
    this.#db = undefined;
    this.#urgentDb = undefined;
    this.#lock = undefined;
    try {
      await db?.destroy(); // closes PGlite, which flushes to disk
    } finally {
      await lock?.release();
    }
  }

  async #open(): Promise<PGlite | PgliteQueryable> {
    const codecs = { parsers: { [BYTEA_OID]: parseBytea }, serializers: { [BYTEA_OID]: serializeBytea }, startParams: [...PGlite.defaultStartParams, ...pgliteSettings] };
    if (this.#dataDir === undefined) {
      if (this.#worker) return PgliteWorkerClient.open({ template: this.#template });
      return PGlite.create({ ...(await this.#fromTemplate()), ...codecs });
    }
    this.#lock = await lockDataDir(this.#dataDir, 'pg.lock');
    const pgDir = join(this.#dataDir, 'pg');
    // Holding our lock means no other process has this database open, so a postmaster.pid is a leftover of a process
    // that died (kill -9, power loss); PGlite would otherwise hang on the next open.
    await rm(join(pgDir, 'postmaster.pid'), { force: true });
    // PG_VERSION is the first file initdb writes: without it there is no database here yet.
    const exists = await access(join(pgDir, 'PG_VERSION')).then(() => true, () => false);
    if (this.#worker && !exists) {
      // A new database is created (initdb, or the template unpacked) in a worker that then exits: creating it takes
      // hundreds of MiB (initdb's own wasm instance, the file bundle) that the process would otherwise keep for its
      // whole life. The database is then opened as on every later start.
      await (await PgliteWorkerClient.open({ dataDir: pgDir, template: this.#template })).close();
    }
    if (this.#worker) return PgliteWorkerClient.open({ dataDir: pgDir });
    return PGlite.create(pgDir, { ...(exists ? {} : await this.#fromTemplate()), ...codecs });
  }

  async #fromTemplate(): Promise<{ loadDataDir?: Blob }> {
    return this.#template === undefined ? {} : { loadDataDir: await readPgliteTemplate(this.#template) };
  }
}
