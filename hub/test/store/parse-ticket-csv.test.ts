import { describe, expect, it } from 'vitest';
import { parseTicketCsv, TicketCsvError } from '../../src/store/index.ts';

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
