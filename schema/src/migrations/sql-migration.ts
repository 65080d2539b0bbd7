/**
 * One schema migration as plain PostgreSQL statements, run in order inside one transaction.
 *
 * Migrations are data, not kysely `Migration` objects, so `schema` needs no kysely runtime (it would resolve a different
 * kysely copy than the hub's): `hub/src/store/migrate.ts` wraps each one into a kysely `Migration` for its Migrator.
 * The same SQL runs on PGlite (PostgreSQL 18 compiled to wasm) and on PostgreSQL servers from 15 on; keep to what both support.
 *
 * @example
 * export const addNotes: SqlMigration = {
 *   up: ['alter table tickets add column notes text'],
 *   down: ['alter table tickets drop column notes'],
 * };
 */
export interface SqlMigration {
  readonly up: readonly string[];
  readonly down: readonly string[];
}
