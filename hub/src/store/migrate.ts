import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { migrations as schemaMigrations, type SqlMigration } from '@opshub/schema/migrations/index';
import { MigrationError } from './errors.ts';

/**
 * Brings the database to the latest schema: runs every pending migration from `schema/src/migrations`, each in its
 * own transaction, under kysely's migration lock (so hub processes starting together on one PostgreSQL take turns).
 * Running it on an up-to-date database does nothing.
 *
 * `schema` is where the tables live and where kysely keeps its bookkeeping tables (`kysely_migration`,
 * `kysely_migration_lock`). Default: the connection's current schema. It is always passed to kysely explicitly:
 * without it kysely looks for its bookkeeping tables in *any* schema of the database, so a second opshub (or any
 * kysely app) in another schema of the same database would make it skip creating its own.
 *
 * @returns the names of the migrations it ran
 * @throws {MigrationError} naming the migration that failed
 * @example await migrateToLatest(store.db); // ['0001-foundation'] the first time, [] after
 */
export async function migrateToLatest(
  db: Kysely<any>,
  { schema, migrations = schemaMigrations }: { schema?: string | undefined; migrations?: Readonly<Record<string, SqlMigration>> } = {},
): Promise<string[]> {
  let migrator: Migrator;
  try {
    migrator = new Migrator({
      db,
      provider: new SqlMigrationProvider(migrations),
      // Numbers are reserved per piece of work and land in any order (0020 may ship before 0019): a database that ran
      // a later one still runs an earlier one that arrives after it. Migrations never depend on a higher number.
      allowUnorderedMigrations: true,
      migrationTableSchema: schema ?? (await currentSchema(db)),
    });
  } catch (error) {
    throw new MigrationError(undefined, { cause: error });
  }
  let outcome = await migrator.migrateToLatest();
  // kysely's Migrator looks for its table by listing every schema's tables; a schema another client drops meanwhile
  // fails that listing with 3F000 (invalid_schema_name) although ours is fine. Seen with test schemas dropped in
  // parallel; a second look no longer sees the dropped schema.
  for (let retry = 0; retry < 3 && isDroppedSchemaRace(outcome.error, schema); retry++) outcome = await migrator.migrateToLatest();
  const { error, results = [] } = outcome;
  if (error !== undefined) {
    throw new MigrationError(results.find((r) => r.status === 'Error')?.migrationName, { cause: error });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** A `schema "x" does not exist` error naming a schema other than the one being migrated. */
function isDroppedSchemaRace(error: unknown, ours: string | undefined): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code !== '3F000' || typeof message !== 'string') return false;
  const named = /schema "([^"]+)" does not exist/.exec(message)?.[1];
  return named !== undefined && named !== ours;
}

async function currentSchema(db: Kysely<any>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('no current schema: the search_path names no existing schema');
  return schema;
}

/** Hands kysely's Migrator the SQL migrations of `schema/` as kysely `Migration`s. */
export class SqlMigrationProvider implements MigrationProvider {
  constructor(private readonly migrations: Readonly<Record<string, SqlMigration>>) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      Object.entries(this.migrations).map(([name, m]) => [name, { up: runAll(m.up), down: runAll(m.down) }]),
    );
  }
}

function runAll(statements: readonly string[]): (db: Kysely<any>) => Promise<void> {
  return async (db) => {
    for (const statement of statements) await sql.raw(statement).execute(db);
  };
}
