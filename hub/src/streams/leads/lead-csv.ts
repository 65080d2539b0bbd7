import type { Lead } from '@opshub/schema';

/** The export's columns, in order; the first line of every export. */
export const leadCsvHeader = ['lead', 'name', 'email', 'ticket_type', 'rating', 'notes', 'tags', 'visits', 'captured_by', 'first_scan', 'last_scan'] as const;

/**
 * Characters that make a spreadsheet read a cell as a formula (`=`, `+`, `-`, `@`) or that some strip before doing so
 * (tab, carriage return): OWASP's list for CSV injection.
 */
const formulaStart = /^[=+\-@\t\r]/;

/**
 * A text cell made inert for spreadsheets: one that would start a formula gets a leading `'`, which spreadsheets show
 * as text and do not evaluate. Everything else is left exactly as it was.
 * @example neutralise('=HYPERLINK("http://evil")') // "'=HYPERLINK(\"http://evil\")"
 */
export function neutralise(value: string): string {
  return formulaStart.test(value) ? `'${value}` : value;
}

/**
 * One RFC 4180 field: quoted when it holds a comma, a quote, or a line break (quotes doubled inside), bare otherwise.
 * Text cells are neutralised first; numbers are written as they are.
 * @example csvField('say "hi", then\nleave') // '"say ""hi"", then\nleave"'
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = neutralise(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One lead as a CSV record, CRLF-terminated; tags joined with `; `, times in ISO 8601 UTC. */
export function leadCsvRecord(lead: Lead): string {
  return (
    [
      lead.id,
      lead.attendee.name ?? '',
      lead.attendee.email ?? '',
      lead.attendee.type ?? '',
      lead.rating,
      lead.notes,
      lead.tags.join('; '),
      lead.visits,
      lead.capturedBy,
      new Date(lead.firstAt).toISOString(),
      new Date(lead.lastAt).toISOString(),
    ]
      .map(csvField)
      .join(',') + '\r\n'
  );
}

/**
 * The whole export as chunks: a UTF-8 byte order mark (so spreadsheets read accents right), the header, then one
 * chunk per page of leads, fetched only as the reader keeps up.
 * @example for await (const chunk of leadCsv((after) => leadPage(db, e, x, { limit: 500, after }))) res.write(chunk);
 */
export async function* leadCsv(page: (after: Lead | undefined) => Promise<readonly Lead[]>, pageSize = 500): AsyncGenerator<string> {
  yield '\uFEFF' + leadCsvHeader.join(',') + '\r\n';
  let after: Lead | undefined;
  for (;;) {
    const leads = await page(after);
    if (leads.length > 0) yield leads.map(leadCsvRecord).join('');
    if (leads.length < pageSize) return;
    after = leads[leads.length - 1];
  }
}
