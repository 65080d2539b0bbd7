import { readdir, readFile } from 'node:fs/promises';

/** The folder holding the numbered `NNN_name.sql` files, next to this module. */
const folder = new URL('./', import.meta.url);

/**
 * The ClickHouse DDL statements, in the order they must run: every `NNN_*.sql` file in this folder by its number,
 * each split on `;`. Statements are idempotent (`IF NOT EXISTS`), so running them all at every start is safe.
 *
 * Splitting on `;` is deliberate and simple (no SQL parser here): whole-line `--` comments are dropped first, so they
 * may say anything, but a string literal in a DDL file must not contain a semicolon.
 *
 * @example
 * for (const statement of await clickhouseDdl()) await client.command({ query: statement });
 */
export async function clickhouseDdl(): Promise<string[]> {
  const files = (await readdir(folder)).filter((name) => /^\d+_.+\.sql$/.test(name)).sort(byNumber);
  const statements: string[] = [];
  for (const file of files) {
    const text = await readFile(new URL(file, folder), 'utf8');
    statements.push(...splitStatements(text));
  }
  return statements;
}

/** Statements of one file: whole-line comments dropped, split on `;`, empty pieces dropped. */
export function splitStatements(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((piece) => piece.trim())
    .filter((piece) => piece.length > 0);
}

// Numeric, not lexical, so that 1000_x sorts after 999_y should the numbering ever outgrow its padding.
function byNumber(a: string, b: string): number {
  return Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b);
}
