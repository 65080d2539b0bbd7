/**
 * Splitting a CSV file into records in the browser, so a 100,000-row roster goes to the hub in chunks (a progress bar,
 * a responsive page, a hub that never holds one 10 MB body) while the hub still reads each chunk with its own CSV
 * parser and rules.
 */

/** A CSV record as it was in the file (without its line end), and the data row number the hub will report for it. */
export interface CsvRecord {
  /** 1-based among non-blank data rows, the header not counted: the hub's `row` numbering */
  readonly row: number;
  readonly text: string;
}

export interface CsvFile {
  readonly header: string;
  readonly records: CsvRecord[];
}

export class CsvShapeError extends Error {
  override readonly name = 'CsvShapeError';
}

/**
 * Splits CSV text into its header and data records, keeping quoted line breaks inside their record. Blank records
 * (nothing but spaces, commas and quotes) are skipped, as the hub skips them, so row numbers agree with its answers.
 * Works a line at a time (a quote count per line), not a character at a time: 10 MB takes a few tens of ms.
 * @throws {CsvShapeError} for an empty file or a quote that is never closed
 * @example splitCsv('code,holder\r\nA1,"Ana\nLima"\r\n').records // [{ row: 1, text: 'A1,"Ana\nLima"' }]
 */
export function splitCsv(text: string): CsvFile {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: string[] = [];
  let start = 0;
  let open = false;
  let openedAtLine = 0;
  let line = 0;
  let at = 0;
  let nextQuote = source.indexOf('"');
  while (at <= source.length) {
    let end = source.indexOf('\n', at);
    if (end === -1) end = source.length;
    line++;
    // The next quote is remembered across lines: searching afresh from each line would scan to the end of the file
    // whenever quotes are rare (quadratic on a 100,000-row roster).
    let quotes = 0;
    while (nextQuote !== -1 && nextQuote < end) {
      quotes++;
      nextQuote = source.indexOf('"', nextQuote + 1);
    }
    if (quotes % 2 === 1) {
      if (!open) openedAtLine = line;
      open = !open;
    }
    if (!open) {
      const record = source.slice(start, end > start && source.charCodeAt(end - 1) === 13 ? end - 1 : end);
      records.push(record);
      start = end + 1;
    }
    at = end + 1;
  }
  if (open) throw new CsvShapeError(`a quote opened on line ${openedAtLine} is never closed`);
  const nonBlank = records.filter((r) => !isBlank(r));
  const header = nonBlank.shift();
  if (header === undefined) throw new CsvShapeError('the file is empty');
  return { header, records: nonBlank.map((text, i) => ({ row: i + 1, text })) };
}

function isBlank(record: string): boolean {
  return /^[\s,"]*$/.test(record);
}

/**
 * The cells of one record (RFC 4180: quoted cells may hold commas, doubled quotes and line breaks), trimmed.
 * @example cells('A1,"Lima, Ana","say ""hi"""') // ['A1', 'Lima, Ana', 'say "hi"']
 */
export function cells(record: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const c = record[i]!;
    if (quoted) {
      if (c === '"' && record[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  out.push(cell.trim());
  return out;
}

/**
 * Rejects records whose `key` column repeats an earlier record's, with the hub's own reason. The hub finds repeats
 * only within one request; a file sent in chunks needs them found across chunks, here, chunk by chunk (so no pass over
 * the whole file holds up the page before the first chunk goes). Without such a column, or for an empty key cell
 * (which the hub rejects anyway), every record passes.
 * @example new RepeatFilter('code,holder', 'code').take([{ row: 1, text: 'A,x' }, { row: 2, text: 'A,y' }]).repeated
 * // [{ row: 2, reason: 'duplicate code "A" (first in row 1)', text: 'A,y' }]
 */
export class RepeatFilter {
  readonly #at: number;
  readonly #firstRow = new Map<string, number>();

  constructor(
    header: string,
    private readonly key: string,
  ) {
    this.#at = cells(header).map((c) => c.toLowerCase()).indexOf(key);
  }

  take(records: readonly CsvRecord[]): { unique: CsvRecord[]; repeated: { row: number; reason: string; text: string }[] } {
    const repeated: { row: number; reason: string; text: string }[] = [];
    if (this.#at === -1) return { unique: [...records], repeated };
    const unique: CsvRecord[] = [];
    for (const record of records) {
      const value = keyCell(record.text, this.#at);
      const first = value === '' ? undefined : this.#firstRow.get(value);
      if (first !== undefined) {
        repeated.push({ row: record.row, reason: `duplicate ${this.key} "${value}" (first in row ${first})`, text: record.text });
        continue;
      }
      if (value !== '') this.#firstRow.set(value, record.row);
      unique.push(record);
    }
    return { unique, repeated };
  }
}

/** Cell `at` of a record; the common unquoted case without splitting the whole record. */
function keyCell(text: string, at: number): string {
  if (!text.includes('"')) return (text.split(',', at + 1)[at] ?? '').trim();
  return cells(text)[at] ?? '';
}

/** A cell a spreadsheet will not run as a formula (OWASP: a leading `'` before `=`, `+`, `-`, `@`, tab, CR). */
function inert(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The rejected rows as a CSV to fix and upload again: `row,reason`, then the file's own columns as they were.
 * @example rejectedCsv('code,email', [{ row: 2, reason: 'email: Invalid email address', text: 'A2,nope' }])
 * // '\uFEFFrow,reason,code,email\r\n2,email: Invalid email address,A2,nope\r\n'
 */
export function rejectedCsv(header: string, rejected: readonly { row: number; reason: string; text: string }[]): string {
  const lines = rejected.map((r) => `${r.row},${inert(r.reason)},${r.text}\r\n`);
  return `\uFEFFrow,reason,${header}\r\n${lines.join('')}`;
}
