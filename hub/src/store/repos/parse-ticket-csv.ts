import { CsvError, parse } from 'csv-parse/sync';
import { TicketCsvError } from '../errors.ts';

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
    records = parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      relax_column_count: true,
    });
  } catch (error) {
    if (error instanceof CsvError) throw new TicketCsvError(error.message.replace(/^Invalid \w+:\s*/, ''), lineOf(error));
    throw error;
  }
  const [header, ...data] = records;
  if (!header) throw new TicketCsvError(`empty CSV: expected a header "${ticketCsvColumns.join(',')}"`);
  const columns = readHeader(header);
  return data.map((cells) => {
    const row: Record<string, string> = {};
    cells.forEach((cell, i) => {
      // a cell under an unnamed header column (a trailing comma in the header) or past the header's end
      if (cell !== '') row[columns[i] || `column ${i + 1}`] = cell;
    });
    return row;
  });
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
