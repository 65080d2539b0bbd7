/** The browser side of chunked CSV uploads (issue 13): record splitting, repeats across chunks, the rejected-rows file. */
import { describe, expect, it } from 'vitest';
import { cells, CsvShapeError, rejectedCsv, RepeatFilter, splitCsv } from '../src/lib/setup/csv-records.ts';
import { problems, slug } from '../src/routes/events/event-draft.ts';

describe('splitCsv', () => {
  it('keeps quoted line breaks in their record, drops a BOM and blank records, and numbers rows as the hub does', () => {
    const file = '\uFEFFcode,holder\r\nA1,"Lima,\nAna"\r\n\r\n , ,\nA2,"say ""hi"""\nA3,Bo';
    expect(splitCsv(file)).toEqual({
      header: 'code,holder',
      records: [
        { row: 1, text: 'A1,"Lima,\nAna"' },
        { row: 2, text: 'A2,"say ""hi"""' },
        { row: 3, text: 'A3,Bo' },
      ],
    });
    expect(cells('A1,"Lima,\nAna"')).toEqual(['A1', 'Lima,\nAna']);
    expect(cells('A2, "say ""hi""" ,')).toEqual(['A2', 'say "hi"', '']);
  });

  it('names the line of a quote never closed, and refuses an empty file', () => {
    expect(() => splitCsv('code,holder\nA1,ok\nA2,"open\nA3,x\n')).toThrow(new CsvShapeError('a quote opened on line 3 is never closed'));
    expect(() => splitCsv('\r\n\r\n')).toThrow(/empty/);
  });

  it('splits 100,000 rows and finds repeats across chunks within a generous bound', () => {
    const lines = ['code,holder,email,type,zones'];
    for (let i = 0; i < 100_000; i++) lines.push(`T${i},Attendee ${i},a${i}@example.org,general,`);
    lines.push('T5,"Again, five",x@example.org,general,');
    const started = performance.now();
    const { header, records } = splitCsv(lines.join('\r\n'));
    const filter = new RepeatFilter(header, 'code');
    const first = filter.take(records.slice(0, 50_000));
    const rest = filter.take(records.slice(50_000));
    const ms = performance.now() - started;
    expect(first.unique.length + rest.unique.length).toBe(100_000);
    expect(first.repeated).toEqual([]);
    expect(rest.repeated).toEqual([{ row: 100_001, reason: 'duplicate code "T5" (first in row 6)', text: 'T5,"Again, five",x@example.org,general,' }]);
    expect(ms).toBeLessThan(3000);
  });
});

describe('rejected rows as CSV', () => {
  it('puts row and reason before the file\'s own columns, with formula-looking reasons made inert', () => {
    expect(rejectedCsv('code,email', [{ row: 2, reason: '=bad', text: 'A2,"x,y"' }])).toBe('\uFEFFrow,reason,code,email\r\n2,\'=bad,A2,"x,y"\r\n');
  });
});

describe('the event editor draft', () => {
  it('suggests ids from names and lists what must be fixed before the hub is asked', () => {
    expect(slug('Hall Ä / North')).toBe('hall-a-north');
    expect(slug('  ')).toBe('');
    const draft = {
      id: 'expo',
      name: 'Expo',
      timezone: 'UTC',
      zones: [{ key: 1, known: false, id: 'hall', name: 'Hall', capacity: 10 }],
      gates: [{ key: 2, known: false, id: 'north', name: 'North', zone: 'hall' }],
    };
    expect(problems(draft)).toEqual([]);
    expect(problems({ ...draft, id: '', zones: [...draft.zones, { key: 3, known: false, id: 'hall', name: '', capacity: -1 }], gates: [{ ...draft.gates[0]!, zone: 'nowhere' }] })).toEqual([
      'the event needs an id: letters, digits and - _ . : only',
      'zone 2: the id "hall" is used twice',
      'zone 2 needs a name',
      'zone 2: capacity must be a whole number, 0 or more',
      'North: choose the zone it opens into',
    ]);
  });
});
