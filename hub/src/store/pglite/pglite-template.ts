import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { migrateToLatest } from '../migrate.ts';
import { pgliteDialect } from './pglite-dialect.ts';

/**
 * Writes a template for new embedded databases: a migrated, empty PGlite cluster as PGlite's data-folder tarball.
 *
 * Why: creating a PGlite database runs initdb inside the wasm engine, 1.5–2 s of CPU, most of a hub's start-up.
 * Loading a tarball takes a third of that. A test run starts dozens of hubs on fresh databases, so it writes one
 * template first and hands it to every hub (`PGLITE_TEMPLATE`, see hub/test/support/pglite-template-setup.ts). The file is written beside its final name
 * and renamed into place, so a reader never sees half of it.
 *
 * @example await writePgliteTemplate('/tmp/opshub-pg-template.tar'); // then PGLITE_TEMPLATE=/tmp/opshub-pg-template.tar
 */
export async function writePgliteTemplate(file: string): Promise<void> {
  const pglite = await PGlite.create();
  const db = new Kysely<unknown>({ dialect: pgliteDialect(pglite) });
  try {
    await migrateToLatest(db);
    const tarball = await pglite.dumpDataDir('none');
    const partial = `${file}.${process.pid}.partial`;
    await writeFile(partial, Buffer.from(await tarball.arrayBuffer()));
    await rename(partial, file);
  } finally {
    await db.destroy();
  }
}

/** The template's tarball, as PGlite's `loadDataDir` takes it. */
export async function readPgliteTemplate(file: string): Promise<Blob> {
  return new Blob([await readFile(file)]);
}
