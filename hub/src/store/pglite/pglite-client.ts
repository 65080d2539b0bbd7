import { Worker } from 'node:worker_threads';

/** What the Store's dialect needs of PGlite: a query and a close. PGlite itself has this shape, and so does the worker. */
export interface PgliteQueryable {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  close(): Promise<void>;
}

/**
 * PostgreSQL settings PGlite starts with, on top of its own start parameters. `shared_buffers`: PostgreSQL's
 * default of 128 MB is sized for a server with many sessions; PGlite has one, keeps the data in files the kernel
 * caches anyway, and touches the whole pool at start. At 32 MB an opened database holds about 110 MiB less
 * (219–250 → 119–130 MiB RSS, an existing database opened in a fresh process), and a 200,000-row insert, index
 * and scans took no longer (17.5 s against 19.5 s at load 22). Measured 2026-12-04, README "Memory".
 */
export const pgliteSettings: readonly string[] = Object.freeze(['-c', 'shared_buffers=32MB']);

/** What the PGlite worker holds: its wasm memory, and its thread's V8 heap. */
export interface PgliteMemory {
  readonly wasmBytes: number;
  readonly heapUsedBytes: number;
}

/** A query PGlite refused, with the fields PostgreSQL reported (`code` is the SQLSTATE: see `isRecordError`). */
export class PgliteQueryError extends Error {
  override readonly name = 'PgliteQueryError';
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;

  constructor(fields: Record<string, unknown>) {
    super(typeof fields.message === 'string' ? fields.message : 'PGlite query failed');
    this.code = typeof fields.code === 'string' ? fields.code : undefined;
    this.detail = typeof fields.detail === 'string' ? fields.detail : undefined;
    this.constraint = typeof fields.constraint === 'string' ? fields.constraint : undefined;
  }
}

/** The PGlite worker thread is gone (it crashed, or the client was closed): nothing more can be asked of it. */
export class PgliteWorkerGoneError extends Error {
  override readonly name = 'PgliteWorkerGoneError';
}

/**
 * How far the PGlite thread's nice value is above the event loop thread's: 10 weighs it about a tenth of the event loop's thread when both want one core
 * (the kernel's weights fall by ~1.25× per step), so relaying and answering sockets come first and the Store's
 * work still progresses. Measured in the gate-partition bench (README).
 */
export const WORKER_NICE = 10;

interface Waiter {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * PGlite in a worker thread, asked one message per statement. Why: PGlite runs each query synchronously in wasm and
 * parses its rows in JavaScript; on the hub's thread, deriving the check-ins of a burst of scans (most of the hub's
 * time) held the relay of the gates' updates and every socket (issue #19 item 1), and a 100,000-row import held a
 * control client's ping for hundreds of ms (issue #11 item 5). In a worker those run beside the event loop, which
 * only posts the statement and receives the rows. Statements run in the order they are posted; a transaction is
 * a sequence of them on the one session (the dialect hands its connection to one caller at a time).
 * @example const pg = await PgliteWorkerClient.open({ dataDir: './data/pg' }); await pg.query('select 1'); await pg.close();
 */
export class PgliteWorkerClient implements PgliteQueryable {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiter>();
  #nextId = 1;
  #gone: Error | undefined;

  private constructor(nice: number) {
    this.#worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), { execArgv: [], workerData: { nice } });
    // Referenced only while a statement is out, so an idle Store never keeps a process alive (as in-thread PGlite).
    this.#worker.unref();
    this.#worker.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: Record<string, unknown> }) => {
      const waiter = this.#waiting.get(id);
      this.#waiting.delete(id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if (!waiter) return;
      if (error) waiter.reject(new PgliteQueryError(error));
      else waiter.resolve(result);
    });
    this.#worker.on('error', (error) => this.#fail(new PgliteWorkerGoneError(`the PGlite worker failed: ${error.message}`, { cause: error })));
    this.#worker.on('exit', (code) => this.#fail(new PgliteWorkerGoneError(`the PGlite worker exited (code ${code})`)));
  }

  /**
   * Starts the worker and opens PGlite there: in `dataDir` (on disk) or in memory, from a template tarball when given
   * (see pglite-template.ts). Rejects with what PGlite reported when it cannot open. `nice` (default
   * {@link WORKER_NICE}) is how much higher the worker thread's nice value is than the event loop's, on Linux, so a busy Store never
   * takes the core from the relay when both share one.
   */
  static async open(options: { dataDir?: string | undefined; template?: string | undefined; nice?: number }): Promise<PgliteWorkerClient> {
    const client = new PgliteWorkerClient(options.nice ?? WORKER_NICE);
    try {
      await client.#ask({ type: 'open', dataDir: options.dataDir, template: options.template, settings: pgliteSettings });
      return client;
    } catch (error) {
      await client.#worker.terminate();
      throw error;
    }
  }

  query<R>(sql: string, params: unknown[] = []): Promise<{ rows: R[]; affectedRows?: number }> {
    return this.#ask({ type: 'query', sql, params }) as Promise<{ rows: R[]; affectedRows?: number }>;
  }

  /** The worker's memory (see {@link PgliteMemory}); the bench reads it to split the hub's RSS. */
  memory(): Promise<PgliteMemory> {
    return this.#ask({ type: 'memory' }) as Promise<PgliteMemory>;
  }

  /** Closes PGlite (which flushes to disk), then ends the worker. */
  async close(): Promise<void> {
    if (this.#gone) return;
    try {
      await this.#ask({ type: 'close' });
    } finally {
      this.#fail(new PgliteWorkerGoneError('the PGlite client is closed'));
      await this.#worker.terminate();
    }
  }

  #ask(message: Record<string, unknown>): Promise<unknown> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ ...message, id });
    });
  }

  #fail(error: Error): void {
    this.#gone ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }
}
