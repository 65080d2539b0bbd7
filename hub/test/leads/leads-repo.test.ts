import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateEventBody } from '@opshub/schema';
import { createEvent, importTickets, PgliteStore, PostgresStore, type Store } from '../../src/store/index.ts';
import { exhibitorOfSponsor, setConsents, upsertExhibitors, upsertSponsors } from '../../src/store/repos/exhibitors-repo.ts';
import { captureLead, cursorOf, leadPage, leadTallies, updateLead } from '../../src/store/repos/leads-repo.ts';
import { describeWithService } from '../support/services.ts';

/** The lead repositories on both Store backends: the same SQL must behave the same on PGlite and PostgreSQL. */
function leadsRepoContract(makeStore: () => Store): void {
  it('one lead per attendee per booth, visits on rescans, consented fields only, pages and tallies', async () => {
    const store = makeStore();
    await store.start();
    try {
      const db = store.db;
      const event = `e${randomUUID().slice(0, 8)}`;
      await createEvent(db, CreateEventBody.parse({ id: event, name: 'Repo', zones: [{ id: 'b1', name: 'Booth', capacity: 10 }] }));
      await importTickets(db, event, [{ code: 'A', holder: 'Ann', email: 'ann@example.org' }, { code: 'B', holder: 'Bob' }, { code: 'C' }]);
      await upsertSponsors(db, event, [{ id: 's', name: 'S', sessions: ['k2', 'k1', 'k1'] }]);
      await upsertExhibitors(db, event, [{ id: 'x', name: 'X', zone: 'b1', sponsor: 's' }]);
      expect(await setConsents(db, event, [{ code: 'A', fields: ['email', 'name'] }, { code: 'Z', fields: [] }], 'test')).toEqual({ accepted: 1, rejected: [{ row: 2, reason: `no ticket "Z" in the roster of event "${event}"` }] });
      expect(await exhibitorOfSponsor(db, event, 's', 'x')).toBe(true);
      expect(await exhibitorOfSponsor(db, event, 'other', 'x')).toBe(false);

      const first = await captureLead(db, { event, exhibitor: 'x', ticket: 'A', capturedBy: 'k', rating: 2, tags: ['t'], scanId: 's1' });
      expect(first).toMatchObject({ kind: 'created', lead: { attendee: { name: 'Ann', email: 'ann@example.org' }, shared: ['name', 'email'], rating: 2, visits: 1, tags: ['t'] } });
      expect(await captureLead(db, { event, exhibitor: 'x', ticket: 'A', capturedBy: 'k', scanId: 's1' })).toMatchObject({ kind: 'repeated', lead: { visits: 1 } });
      expect(await captureLead(db, { event, exhibitor: 'x', ticket: 'A', capturedBy: 'k', notes: 'n' })).toMatchObject({ kind: 'rescanned', lead: { visits: 2, rating: 2, notes: 'n', tags: ['t'] } });
      await captureLead(db, { event, exhibitor: 'x', ticket: 'B', capturedBy: 'k', rating: 5 });
      await captureLead(db, { event, exhibitor: 'x', ticket: 'C', capturedBy: 'k' });
      expect(await updateLead(db, event, 'x', first.lead.id, { rating: null, tags: [] })).toMatchObject({ rating: null, tags: [], visits: 2 });
      expect(await updateLead(db, event, 'x', 'nope', { rating: 1 })).toBeNull();

      const page1 = await leadPage(db, event, 'x', { limit: 2 });
      const page2 = await leadPage(db, event, 'x', { limit: 2, after: cursorOf(page1[1]!) });
      expect([...page1, ...page2].map((l) => l.attendee.name ?? '-')).toEqual(['Ann', '-', '-']);
      expect(await leadTallies(db, event, ['x', 'y'])).toEqual(new Map([['x', { leads: 3, rated: 1, ratingSum: 5 }]]));
    } finally {
      await store.close();
    }
  });
}

describe('lead repositories on PGlite', () => leadsRepoContract(() => new PgliteStore()));

describeWithService('DATABASE_URL', 'lead repositories on PostgreSQL', (url) => {
  const schema = `opshub_leads_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });
  leadsRepoContract(() => new PostgresStore({ url, schema }));
});
