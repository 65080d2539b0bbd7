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
  close(): Promise<void>;
}
