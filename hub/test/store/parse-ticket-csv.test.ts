import { describe, expect, it } from 'vitest';
import { parseTicketCsv, TicketCsvError } from '../../src/store/index.ts';
import { readTicketCsv } from '../../src/store/repos/parse-ticket-csv.ts';

describe('parseTicketCsv', () => {
  it('reads rows by header name, trims cells and leaves empty cells out so defaults apply', () => {
    const csv = '\uFEFF code , HOLDER ,email,type,zones\r\nA1, Ana ,,vip,hall;vip\r\n\r\nA2,"Lima, Ben",ben@example.com,,\r\n,,,,\r\n';
    expect(parseTicketCsv(csv)).toEqual([
      { code: 'A1', holder: 'Ana', type: 'vip', zones: 'hall;vip' },
      { code: 'A2', holder: 'Lima, Ben', email: 'ben@example.com' },
    ]);
  });

  it('accepts a subset of the columns as long as code is there', () => {
    expect(parseTicketCsv('code\nA1\nA2')).toEqual([{ code: 'A1' }, { code: 'A2' }]);
  });

  it('keeps cells beyond the header under "column N" (the row is then rejected on import) and allows short rows', () => {
    expect(parseTicketCsv('code,holder\nA1,Ana,surprise\nA2')).toEqual([{ code: 'A1', holder: 'Ana', 'column 3': 'surprise' }, { code: 'A2' }]);
  });

  it('answers a header-only file with no rows', () => {
    expect(parseTicketCsv('code,holder,email,type,zones\r\n')).toEqual([]);
  });

  it.each([
    ['', /empty CSV: expected a header "code,holder,email,type,zones"/],
    ['holder,email\nAna,ana@example.com', /CSV line 1: header has no "code" column; expected code,holder,email,type,zones \(code required\)/],
    ['code,holder,zone\nA1,Ana,hall', /CSV line 1: unknown column "zone" in header/],
    ['code,code\nA1,A2', /CSV line 1: column "code" appears twice in header/],
    ['code,holder\nA1,"Ana\nA2,Ben', /CSV line \d+: .*quote/i],
  ])('refuses an unusable file: %j', (csv, message) => {
    expect(() => parseTicketCsv(csv)).toThrow(TicketCsvError);
    expect(() => parseTicketCsv(csv)).toThrow(message);
  });
});

describe('readTicketCsv (the request path: in slices, yielding between them)', () => {
  /** Whatever parseTicketCsv answers or throws, as a comparable value. */
  const outcome = async (read: () => unknown): Promise<unknown> => {
    try {
      return await read();
    } catch (error) {
      return { error: (error as Error).name, message: (error as Error).message, line: (error as TicketCsvError).line };
    }
  };

  it('answers exactly what parseTicketCsv answers, also with quoted fields, CRLF and surrogate pairs across slices', async () => {
    // ~2 MB: many 128 KB slices, with quoted commas, quotes and line breaks and emoji somewhere across their borders
    const lines = ['\uFEFFcode,holder,email,zones'];
    for (let i = 0; i < 30_000; i++) lines.push(i % 7 === 0 ? `"C${i}","Ho, ""q""\nline ${i} 😀",e${i}@x.org,a;b` : `C${i},H ${i} 🎟️,e${i}@x.org,`);
    const cases = [lines.join('\r\n'), `${lines.join('\n')}\n\n,,,\n`, '', 'code\n', 'nope\nA1', 'code,holder\n"A1,unclosed', `${lines.slice(0, 20_000).join('\n')}\n"X,unclosed`];
    for (const csv of cases) {
      expect(await outcome(() => readTicketCsv(csv))).toEqual(await outcome(() => parseTicketCsv(csv)));
    }
  });

  it('lets other work run while it reads a big roster', async () => {
    const lines = ['code,holder'];
    for (let i = 0; i < 100_000; i++) lines.push(`C${i},Holder ${i}`);
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    const rows = await readTicketCsv(lines.join('\n'));
    clearInterval(ticking);
    expect(rows).toHaveLength(100_000);
    expect(turns).toBeGreaterThan(3);
  });
});
