import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

/**
 * The system of record: a Kysely handle on PGlite (embedded) or PostgreSQL, migrated at `start()`.
 * Queries live in the repositories beside this file and run unchanged on both (see `hub/test/store/store-contract.ts`).
 */
export interface Store {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Kysely<Database>;
  /** Opens the database and runs every pending migration from `schema/`. */
  start(): Promise<void>;
  /**
   * Resolves once the database answers a trivial query, on a connection of its own (a pool busy with long work is
   * not an outage); rejects when it cannot be reached. `/healthz` asks this through {@link StoreHealth}.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
