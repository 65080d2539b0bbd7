import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

/**
 * The system of record: a Kysely handle on PGlite (embedded) or PostgreSQL, migrated at `start()`.
 * Queries live in the repositories beside this file and run unchanged on both (see `hub/test/store/store-contract.ts`).
 */
export interface Store {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Kysely<Database>;
  /**
   * The same database for the control room's levers and announcements: on PGlite (one session, transactions in
   * turn) its transactions go ahead of every ordinary one waiting, so a gate hold never queues behind a burst's
   * check-ins; on PostgreSQL (a pool) it is `db`. Only for short, human-paced work: what it queues, others wait for.
   */
  readonly urgentDb: Kysely<Database>;
  /** Opens the database and runs every pending migration from `schema/`. */
  start(): Promise<void>;
  /**
   * Resolves once the database answers a trivial query, on a connection of its own (a pool busy with long work is
   * not an outage); rejects when it cannot be reached. `/healthz` asks this through {@link StoreHealth}.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
