import { parse as parseStream, type Options } from 'csv-parse';
import { CsvError, parse } from 'csv-parse/sync';
import { TicketCsvError } from '../errors.ts';

/** How csv-parse reads a roster, in one go or in slices. */
const csvOptions: Options = {
  bom: true,
  trim: true,
  skip_empty_lines: true,
  skip_records_with_empty_values: true,
  relax_column_count: true,
};

/** Characters of CSV parsed between two turns of the event loop by {@link readTicketCsv} (~1,500 rows). */
const SLICE_CHARS = 128 * 1024;

/** The columns a roster CSV may have; only `code` is required. */
export const ticketCsvColumns = ['code', 'holder', 'email', 'type', 'zones'] as const;

/**
 * Reads a roster CSV into plain row objects for {@link importTickets}, which validates them.
 *
 * - The first record is the header: column names from {@link ticketCsvColumns} in any order and case; `code` is
 *   required, an unknown or repeated column is an error (a misspelt `zone` column must not silently make every ticket
 *   valid for every zone).
 * - A UTF-8 BOM, CRLF line ends, quoted fields and blank lines are fine; cells are trimmed; an empty cell counts as
 *   not given, so the row's defaults apply. Records whose cells are all empty are skipped.
 * - `zones` stays a string here (`A;B` or `A|B`); `TicketRow` splits it.
 * - A record with more cells than the header keeps the extras under `column N`, which `TicketRow` rejects for that
 *   row only; a record with fewer cells simply lacks the last columns.
 *
 * Row numbering: element `i` of the result is data row `i + 1`, the header not counted (the same numbering as a
 * JSON array roster), and `importTickets` reports rejections by that number.
 *
 * @throws {TicketCsvError} when the header is unusable or the CSV itself is malformed (e.g. an unclosed quote)
 * @example
 * parseTicketCsv('code,holder,zones\r\nA1,Ana,hall;vip\r\n');
 * // [{ code: 'A1', holder: 'Ana', zones: 'hall;vip' }]
 */
export function parseTicketCsv(text: string): Record<string, string>[] {
  let records: string[][];
  try {
    records = parse(text, csvOptions);
  } catch (error) {
    throw csvFailure(error);
  }
  const [header, ...data] = records;
  if (!header) throw new TicketCsvError(`empty CSV: expected a header "${ticketCsvColumns.join(',')}"`);
  const columns = readHeader(header);
  return data.map((cells) => toRow(columns, cells));
}

/**
 * {@link parseTicketCsv} in slices of ~128 KB with a turn of the event loop between them, for the hub's request path:
 * a 10 MB roster parsed in one go held every socket for about a second (issue #11). Same result, same errors.
 * @example const rows = await readTicketCsv(body.toString('utf8'));
 */
export async function readTicketCsv(text: string): Promise<Record<string, string>[]> {
  const rows: Record<string, string>[] = [];
  let columns: string[] | undefined;
  let failure: unknown;
  const parser = parseStream(csvOptions);
  parser.on('data', (cells: string[]) => {
    if (failure !== undefined) return;
    try {
      if (columns === undefined) columns = readHeader(cells);
      else rows.push(toRow(columns, cells));
    } catch (error) {
      failure = error;
    }
  });
  const ended = new Promise<void>((resolve) => {
    parser.once('end', resolve);
    parser.once('error', (error) => {
      failure ??= error;
      resolve();
    });
  });
  for (let start = 0; start < text.length && failure === undefined; ) {
    let end = Math.min(text.length, start + SLICE_CHARS);
    // never split a surrogate pair: each slice is encoded to UTF-8 on its own
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end++;
    parser.write(text.slice(start, end));
    start = end;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (failure === undefined) parser.end();
  else parser.destroy();
  if (failure === undefined) await ended;
  if (failure !== undefined) throw csvFailure(failure);
  if (columns === undefined) throw new TicketCsvError(`empty CSV: expected a header "${ticketCsvColumns.join(',')}"`);
  return rows;
}

function toRow(columns: string[], cells: string[]): Record<string, string> {
  const row: Record<string, string> = {};
  cells.forEach((cell, i) => {
    // a cell under an unnamed header column (a trailing comma in the header) or past the header's end
    if (cell !== '') row[columns[i] || `column ${i + 1}`] = cell;
  });
  return row;
}

function csvFailure(error: unknown): unknown {
  if (error instanceof CsvError) return new TicketCsvError(error.message.replace(/^Invalid \w+:\s*/, ''), lineOf(error));
  return error;
}

function readHeader(header: string[]): string[] {
  const columns = header.map((name) => name.toLowerCase());
  const known = new Set<string>(ticketCsvColumns);
  const expected = `expected ${ticketCsvColumns.join(',')} (code required)`;
  const unknown = columns.filter((c) => c !== '' && !known.has(c));
  if (unknown.length > 0) throw new TicketCsvError(`unknown column ${unknown.map((c) => `"${c}"`).join(', ')} in header; ${expected}`, 1);
  const repeated = columns.filter((c, i) => c !== '' && columns.indexOf(c) !== i);
  if (repeated.length > 0) throw new TicketCsvError(`column "${repeated[0]}" appears twice in header`, 1);
  if (!columns.includes('code')) throw new TicketCsvError(`header has no "code" column; ${expected}`, 1);
  return columns;
}

function lineOf(error: CsvError): number | undefined {
  const lines = (error as { lines?: unknown }).lines;
  return typeof lines === 'number' ? lines : undefined;
}
