import { migrations } from '@opshub/schema/migrations/index';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEventBody } from '@opshub/schema';
import {
  appendAudit,
  ConflictError,
  createEvent,
  getEvent,
  getTicket,
  importTickets,
  inTransaction,
  insertAnnouncement,
  listAnnouncements,
  listAudit,
  listTickets,
  migrateToLatest,
  NotFoundError,
  parseTicketCsv,
  revokeTicket,
  type Store,
} from '../../src/store/index.ts';
import { appendDocUpdates, compactDoc, loadDoc } from '../../src/store/repos/yjs-repo.ts';
import * as Y from 'yjs';

export interface StoreContractOptions {
  /** True when a store created again by `createStore` opens the same database (on disk, or a server). */
  readonly persistent: boolean;
}

/**
 * The behaviour every Store implementation shares. The suite runs against one store; tests use their own event ids,
 * so they do not depend on each other's data.
 *
 * @example storeContract('pglite in memory', () => new PgliteStore(), { persistent: false });
 */
export function storeContract(name: string, createStore: () => Store, { persistent }: StoreContractOptions): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let seq = 0;
    /** a fresh event id per test */
    const eventId = (label: string) => `${label}-${++seq}`;
    const newEvent = (id: string) =>
      createEvent(
        store.db,
        CreateEventBody.parse({
          id,
          name: `Expo ${id}`,
          zones: [
            { id: 'hall', name: 'Main hall', capacity: 1000 },
            { id: 'vip', name: 'VIP lounge', capacity: 50 },
          ],
          gates: [
            { id: 'north', name: 'North gate', zone: 'hall' },
            { id: 'vip-door', name: 'VIP door', zone: 'vip' },
          ],
        }),
      );
    const countTickets = async (event: string) =>
      Number(
        (await store.db.selectFrom('tickets').select((eb) => eb.fn.countAll().as('n')).where('event_id', '=', event).executeTakeFirstOrThrow()).n,
      );

    beforeAll(async () => {
      store = createStore();
      await store.start();
    });
    afterAll(async () => {
      await store?.close();
    });

    describe('migrations', () => {
      it('are recorded and running them again does nothing', async () => {
        const applied = await store.db.selectFrom('kysely_migration' as never).select('name' as never).execute();
        expect(applied).toEqual(Object.keys(migrations).sort().map((name) => ({ name })));
        await store.start(); // already started: no-op
        expect(await migrateToLatest(store.db)).toEqual([]);
      });

      it.runIf(persistent)('a restarted store finds the schema and the data, and migrates nothing', async () => {
        const id = eventId('restart');
        await newEvent(id);
        await store.close();
        store = createStore();
        await store.start();
        expect(await migrateToLatest(store.db)).toEqual([]);
        expect((await getEvent(store.db, id))?.name).toBe(`Expo ${id}`);
      });
    });

    describe('events', () => {
      it('creates an event with zones and gates and reads it back', async () => {
        const id = eventId('expo');
        const created = await newEvent(id);
        const expected = {
          id,
          name: `Expo ${id}`,
          timezone: 'UTC',
          zones: [
            { id: 'hall', name: 'Main hall', capacity: 1000 },
            { id: 'vip', name: 'VIP lounge', capacity: 50 },
          ],
          gates: [
            { id: 'north', name: 'North gate', zone: 'hall' },
            { id: 'vip-door', name: 'VIP door', zone: 'vip' },
          ],
          ticketTypes: [],
        };
        expect(created).toEqual(expected);
        expect(await getEvent(store.db, id)).toEqual(expected);
      });

      it('keeps a given timezone and allows an event without zones', async () => {
        const id = eventId('bare');
        await createEvent(store.db, CreateEventBody.parse({ id, name: 'Bare', timezone: 'Europe/Lisbon' }));
        expect(await getEvent(store.db, id)).toEqual({ id, name: 'Bare', timezone: 'Europe/Lisbon', zones: [], gates: [], ticketTypes: [] });
      });

      it('keeps ticket types with prices in minor units, in the order given', async () => {
        const id = eventId('priced');
        const ticketTypes = [
          { id: 'vip', name: 'VIP', price: 12_000, currency: 'EUR', zones: ['vip'] },
          { id: 'day', name: 'Day pass', price: 4_500, currency: 'eur' },
        ];
        await createEvent(store.db, CreateEventBody.parse({ id, name: 'Priced', zones: [{ id: 'vip', name: 'VIP', capacity: 10 }], ticketTypes }));
        expect((await getEvent(store.db, id))?.ticketTypes).toEqual([
          { id: 'vip', name: 'VIP', price: 12_000, currency: 'eur', zones: ['vip'] },
          { id: 'day', name: 'Day pass', price: 4_500, currency: 'eur', zones: [] },
        ]);
        const mixed = CreateEventBody.safeParse({ id, name: 'Mixed', ticketTypes: [ticketTypes[1], { ...ticketTypes[1], id: 'usd', currency: 'usd' }] });
        expect(mixed.error?.issues[0]?.message).toMatch(/one currency/);
        expect(CreateEventBody.safeParse({ id, name: 'Moon', ticketTypes: [{ ...ticketTypes[0], zones: ['moon'] }] }).error?.issues[0]?.message).toBe('unknown zone "moon"');
      });

      it('answers null for an unknown event', async () => {
        expect(await getEvent(store.db, 'no-such-event')).toBeNull();
      });

      it('refuses a second event with the same id with ConflictError and leaves the first intact', async () => {
        const id = eventId('dup');
        await newEvent(id);
        const again = createEvent(store.db, CreateEventBody.parse({ id, name: 'Imposter', zones: [{ id: 'x', name: 'X', capacity: 1 }] }));
        await expect(again).rejects.toBeInstanceOf(ConflictError);
        await expect(again).rejects.toMatchObject({ entity: 'event', key: id, message: `event "${id}" already exists` });
        const event = await getEvent(store.db, id);
        expect(event?.name).toBe(`Expo ${id}`);
        expect(event?.zones.map((z) => z.id)).toEqual(['hall', 'vip']);
      });

      it('rejects a gate naming an unknown zone in the schema, and the database backs that up atomically', async () => {
        const id = eventId('badgate');
        const body = { id, name: 'Bad', zones: [{ id: 'hall', name: 'Hall', capacity: 1 }], gates: [{ id: 'g', name: 'G', zone: 'moon' }] };
        const parsed = CreateEventBody.safeParse(body);
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues).toEqual([expect.objectContaining({ path: ['gates', 0, 'zone'], message: 'unknown zone "moon"' })]);
        // A caller that skips validation hits the foreign key, and nothing of the event remains.
        await expect(createEvent(store.db, { timezone: 'UTC', ...body })).rejects.toThrow(/foreign key/);
        expect(await getEvent(store.db, id)).toBeNull();
      });

      it('joins a caller transaction, so an event and its audit row commit or roll back together', async () => {
        const id = eventId('trx');
        const failed = store.db.transaction().execute(async (trx) => {
          await newEventIn(trx, id);
          await appendAudit(trx, { actor: 'ana', role: 'admin', action: 'event.create', event: id, target: id });
          throw new Error('abort');
        });
        await expect(failed).rejects.toThrow('abort');
        expect(await getEvent(store.db, id)).toBeNull();
        expect(await listAudit(store.db, { event: id })).toEqual([]);
      });

      it('runs concurrent transactions without mixing them up', async () => {
        const ids = Array.from({ length: 12 }, () => eventId('many'));
        const doomed = eventId('doomed');
        const results = await Promise.allSettled([
          ...ids.map((id) => newEvent(id)),
          inTransaction(store.db, async (trx) => {
            await newEventIn(trx, doomed);
            throw new Error('roll me back');
          }),
          ...ids.map((id) => getEvent(store.db, id)),
        ]);
        expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
        for (const id of ids) expect((await getEvent(store.db, id))?.gates).toHaveLength(2);
        expect(await getEvent(store.db, doomed)).toBeNull();
      });
    });

    describe('tickets', () => {
      it('imports a JSON roster, rejecting bad rows with their 1-based row number and reason', async () => {
        const id = eventId('json');
        await newEvent(id);
        const result = await importTickets(store.db, id, [
          { code: 'A1', holder: 'Ana Lima', email: 'ana@example.com', type: 'vip', zones: ['hall', 'vip'] },
          { code: 'A2', holder: 'Ben' },
          { code: 'A3', zones: ['hall', 'moon', 'mars'] },
          { code: 'A1', holder: 'Second A1' },
          { code: 'A4', email: 'not-an-email' },
          { holder: 'No code' },
          'just a string',
          { code: 'A5', phone: '123' },
          { code: 'A6', zones: 'hall|vip' },
        ]);
        expect(result).toEqual({
          accepted: 3,
          rejected: [
            { row: 3, reason: `unknown zones "moon", "mars" for event "${id}"` },
            { row: 4, reason: 'duplicate code "A1" (first in row 1)' },
            { row: 5, reason: 'email: Invalid email address' },
            { row: 6, reason: 'code: Invalid input: expected string, received undefined' },
            { row: 7, reason: 'Invalid input: expected object, received string' },
            { row: 8, reason: 'Unrecognized key: "phone"' },
          ],
        });
        expect(await countTickets(id)).toBe(3);
        expect(await getTicket(store.db, id, 'A1')).toMatchObject({
          event: id,
          code: 'A1',
          holder: 'Ana Lima',
          email: 'ana@example.com',
          type: 'vip',
          zones: ['hall', 'vip'],
          status: 'valid',
          orderCode: null,
        });
        expect(await getTicket(store.db, id, 'A2')).toMatchObject({ holder: 'Ben', email: '', type: 'general', zones: [] });
        expect((await getTicket(store.db, id, 'A6'))?.zones).toEqual(['hall', 'vip']);
      });

      it('imports a CSV roster (BOM, CRLF, quotes, any column order) with data-row numbers, header not counted', async () => {
        const id = eventId('csv');
        await newEvent(id);
        const csv =
          '\uFEFFCode,Zones,Holder,Email,Type\r\n' +
          'C1,hall;vip,"Lima, Ana",ana@example.com,vip\r\n' +
          '\r\n' + // blank lines are not rows
          'C2,,Ben,,\r\n' +
          'C3,moon,Cleo,cleo@example.com,general\r\n' +
          'C4,hall | vip ,Dan,dan@example,general\r\n' +
          'C1,hall,Again,,\r\n' +
          'C5,hall,Eve,eve@example.com,general,extra\r\n' +
          'C6,hall|vip,Fay,FAY@Example.com,staff\r\n';
        const result = await importTickets(store.db, id, parseTicketCsv(csv));
        expect(result).toEqual({
          accepted: 3,
          rejected: [
            { row: 3, reason: `unknown zone "moon" for event "${id}"` },
            { row: 4, reason: 'email: Invalid email address' },
            { row: 5, reason: 'duplicate code "C1" (first in row 1)' },
            { row: 6, reason: 'Unrecognized key: "column 6"' },
          ],
        });
        expect(await getTicket(store.db, id, 'C1')).toMatchObject({ holder: 'Lima, Ana', email: 'ana@example.com', type: 'vip', zones: ['hall', 'vip'] });
        expect(await getTicket(store.db, id, 'C2')).toMatchObject({ holder: 'Ben', email: '', type: 'general', zones: [] });
        expect(await getTicket(store.db, id, 'C6')).toMatchObject({ email: 'FAY@Example.com', type: 'staff', zones: ['hall', 'vip'] });
      });

      it('re-imports idempotently: same count, changed fields updated, unchanged rows untouched', async () => {
        const id = eventId('again');
        await newEvent(id);
        const rows = [
          { code: 'R1', holder: 'Ana', zones: ['hall'] },
          { code: 'R2', holder: 'Ben' },
        ];
        expect(await importTickets(store.db, id, rows)).toEqual({ accepted: 2, rejected: [] });
        const before = await listTickets(store.db, id, { limit: 10 });
        const changed = [
          { code: 'R1', holder: 'Ana Lima', email: 'ana@example.com', type: 'vip', zones: ['vip'] },
          { code: 'R2', holder: 'Ben' },
        ];
        expect(await importTickets(store.db, id, changed)).toEqual({ accepted: 2, rejected: [] });
        expect(await importTickets(store.db, id, changed)).toEqual({ accepted: 2, rejected: [] });
        const after = await listTickets(store.db, id, { limit: 10 });
        expect(after).toHaveLength(2);
        expect(after[0]).toMatchObject({ code: 'R1', holder: 'Ana Lima', email: 'ana@example.com', type: 'vip', zones: ['vip'] });
        expect(after[0]!.createdAt).toEqual(before[0]!.createdAt);
        expect(after[0]!.updatedAt.getTime()).toBeGreaterThanOrEqual(before[0]!.updatedAt.getTime());
        expect(after[1]).toEqual(before[1]); // unchanged row: not rewritten, updatedAt kept
      });

      it('never un-revokes a revoked ticket on re-import, but updates its other fields', async () => {
        const id = eventId('revoke');
        await newEvent(id);
        await importTickets(store.db, id, [{ code: 'V1', holder: 'Ana' }]);
        expect((await revokeTicket(store.db, id, 'V1')).status).toBe('revoked');
        expect((await revokeTicket(store.db, id, 'V1')).status).toBe('revoked');
        await importTickets(store.db, id, [{ code: 'V1', holder: 'Ana Lima' }]);
        expect(await getTicket(store.db, id, 'V1')).toMatchObject({ holder: 'Ana Lima', status: 'revoked' });
        await expect(revokeTicket(store.db, id, 'nope')).rejects.toMatchObject({ name: 'NotFoundError', entity: 'ticket', key: 'nope' });
      });

      it('imports all-or-nothing inside a caller transaction', async () => {
        const id = eventId('atomic');
        await newEvent(id);
        const rows = Array.from({ length: 1_200 }, (_, i) => ({ code: `X${i}` }));
        const failed = inTransaction(store.db, async (trx) => {
          expect(await importTickets(trx, id, rows, { batchSize: 500 })).toEqual({ accepted: 1_200, rejected: [] });
          throw new Error('changed my mind');
        });
        await expect(failed).rejects.toThrow('changed my mind');
        expect(await countTickets(id)).toBe(0);
      });

      it('refuses to import into an unknown event with NotFoundError', async () => {
        await expect(importTickets(store.db, 'no-such-event', [{ code: 'X' }])).rejects.toBeInstanceOf(NotFoundError);
      });

      it('keeps rosters of different events apart', async () => {
        const [a, b] = [eventId('apart'), eventId('apart')];
        await newEvent(a);
        await newEvent(b);
        await importTickets(store.db, a, [{ code: 'S1', holder: 'In A' }]);
        await importTickets(store.db, b, [{ code: 'S1', holder: 'In B' }]);
        expect((await getTicket(store.db, a, 'S1'))?.holder).toBe('In A');
        expect((await getTicket(store.db, b, 'S1'))?.holder).toBe('In B');
        expect(await getTicket(store.db, a, 'missing')).toBeNull();
      });

      it('pages through a roster in byte order of codes, the same on every backend', async () => {
        const id = eventId('page');
        await newEvent(id);
        const codes = ['b-2', 'B-1', 'a-3', '_x', 'A-10', 'a-2', '9z'];
        await importTickets(store.db, id, codes.map((code) => ({ code })));
        const seen: string[] = [];
        let page = await listTickets(store.db, id, { limit: 3 });
        while (page.length > 0) {
          seen.push(...page.map((t) => t.code));
          page = await listTickets(store.db, id, { after: page.at(-1)!.code, limit: 3 });
        }
        expect(seen).toEqual([...codes].sort());
      });

      it('imports 10,000 tickets correctly in batches', async () => {
        const id = eventId('bulk');
        await newEvent(id);
        const rows = Array.from({ length: 10_000 }, (_, i) => ({
          code: `T${String(i).padStart(5, '0')}`,
          holder: `Holder ${i}`,
          email: `h${i}@example.com`,
          type: i % 10 === 0 ? 'vip' : 'general',
          zones: i % 10 === 0 ? ['hall', 'vip'] : i % 2 === 0 ? ['hall'] : [],
        }));
        rows.push({ ...rows[42]!, holder: 'duplicate of row 43' });
        const started = performance.now();
        const result = await importTickets(store.db, id, rows);
        const ms = Math.round(performance.now() - started);
        console.info(`[${name}] imported 10,000 tickets in ${ms} ms`);
        expect(result).toEqual({ accepted: 10_000, rejected: [{ row: 10_001, reason: 'duplicate code "T00042" (first in row 43)' }] });
        expect(await countTickets(id)).toBe(10_000);
        expect(await getTicket(store.db, id, 'T09990')).toMatchObject({ holder: 'Holder 9990', type: 'vip', zones: ['hall', 'vip'] });
        expect(await getTicket(store.db, id, 'T00042')).toMatchObject({ holder: 'Holder 42', zones: ['hall'] });
        expect(await getTicket(store.db, id, 'T00043')).toMatchObject({ zones: [] });
        const byEmail = await store.db
          .selectFrom('tickets')
          .select('code')
          .where('event_id', '=', id)
          .where(sql<string>`lower(email)`, '=', 'h777@example.com')
          .execute();
        expect(byEmail).toEqual([{ code: 'T00777' }]);
      });
    });

    describe('audit log', () => {
      it('appends rows with JSON before/after and lists them newest first, per event', async () => {
        const id = eventId('audit');
        const first = await appendAudit(store.db, { actor: 'ana', role: 'admin', action: 'event.create', event: id, target: id, after: { zones: ['hall'], n: 1 } });
        const second = await appendAudit(store.db, {
          actor: 'ben',
          role: 'staff',
          action: 'ticket.revoke',
          event: id,
          target: 'A1',
          before: { status: 'valid' },
          after: ['an', 'array', { nested: true }],
        });
        await appendAudit(store.db, { actor: 'system', role: 'system', action: 'hub.start', target: 'hub' });
        expect(second.id).toBeGreaterThan(first.id);
        expect(first).toMatchObject({ actor: 'ana', role: 'admin', event: id, before: null, after: { zones: ['hall'], n: 1 } });
        expect(first.at).toBeInstanceOf(Date);
        const listed = await listAudit(store.db, { event: id });
        expect(listed).toEqual([second, first]);
        expect(listed[0]!.after).toEqual(['an', 'array', { nested: true }]);
        expect(await listAudit(store.db, { event: id, limit: 1 })).toEqual([second]);
        expect(await listAudit(store.db, { event: id, beforeId: second.id })).toEqual([first]);
        expect((await listAudit(store.db, { limit: 1 }))[0]).toMatchObject({ action: 'hub.start', event: null });
      });

      it('is append-only in the database: UPDATE, DELETE and TRUNCATE are rejected', async () => {
        const id = eventId('immutable');
        const entry = await appendAudit(store.db, { actor: 'ana', role: 'admin', action: 'event.create', event: id, target: id });
        await expect(store.db.updateTable('audit_log').set({ actor: 'mallory' }).where('id', '=', entry.id).execute()).rejects.toThrow(
          /audit_log is append-only: UPDATE/,
        );
        await expect(store.db.deleteFrom('audit_log').where('id', '=', entry.id).execute()).rejects.toThrow(/audit_log is append-only: DELETE/);
        await expect(sql`truncate audit_log`.execute(store.db)).rejects.toThrow(/audit_log is append-only: TRUNCATE/);
        expect(await listAudit(store.db, { event: id })).toEqual([entry]);
      });
    });

    describe('announcements', () => {
      it('stores announcements and lists them newest first, per event', async () => {
        const id = eventId('news');
        const other = eventId('news');
        await newEvent(id);
        await newEvent(other);
        const first = await insertAnnouncement(store.db, { event: id, text: 'Doors open at 9', level: 'info', createdBy: 'ana' });
        const second = await insertAnnouncement(store.db, { id: 'a-2', event: id, text: 'Evacuate hall B', level: 'emergency', createdBy: 'ben' });
        await insertAnnouncement(store.db, { event: other, text: 'Elsewhere', level: 'warning', createdBy: 'cleo' });
        expect(first).toMatchObject({ event: id, text: 'Doors open at 9', level: 'info', createdBy: 'ana' });
        expect(first.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(second.id).toBe('a-2');
        expect(second.createdAt).toBeInstanceOf(Date);
        expect(await listAnnouncements(store.db, id)).toEqual([second, first]);
        expect(await listAnnouncements(store.db, id, 1)).toEqual([second]);
      });
    });

    describe('check-ins table', () => {
      it('keeps scan times to the millisecond and one row per scan id', async () => {
        const id = eventId('scan');
        await newEvent(id);
        const at = new Date(Date.UTC(2026, 5, 1, 9, 30, 0, 123));
        const scan = { scan_id: `${id}-s1`, event_id: id, code: 'A1', gate_id: 'north', device: 'laptop-1', dir: 'in', at, verdict: 'admitted' } as const;
        await store.db.insertInto('checkins').values(scan).execute();
        const inserted = await store.db
          .insertInto('checkins')
          .values(scan)
          .onConflict((oc) => oc.column('scan_id').doNothing())
          .returning('scan_id')
          .execute();
        expect(inserted).toEqual([]);
        const row = await store.db.selectFrom('checkins').selectAll().where('event_id', '=', id).executeTakeFirstOrThrow();
        expect(row).toMatchObject({ ...scan, duplicate: false });
        expect(row.at.getTime()).toBe(at.getTime());
      });
    });

    describe('Yjs doc log', () => {
      const bytes = (n: number) => new Uint8Array([n, n + 1, n + 2]);

      it('reads updates after a position, fetching none of the skipped ones but moving past them', async () => {
        const doc = `${eventId('doc')}/gate`;
        const ids = await appendDocUpdates(store.db, doc, [bytes(1), bytes(2), bytes(3)]);
        expect(ids).toHaveLength(3);
        const all = await loadDoc(store.db, doc);
        expect(all.updates.map((u) => [...u.update])).toEqual([[1, 2, 3], [2, 3, 4], [3, 4, 5]]);
        expect(all.lastId).toBe(ids[2]);

        const others = await loadDoc(store.db, doc, '0', (id) => id !== ids[1]);
        expect(others.updates.map((u) => u.id)).toEqual([ids[1]]);
        expect(others.lastId).toBe(ids[2]);

        const none = await loadDoc(store.db, doc, ids[0], () => true);
        expect(none).toEqual({ snapshot: undefined, updates: [], lastId: ids[2] });
      });

      it('compacts into a snapshot, answers what it folded, and a reader past the snapshot does not get it again', async () => {
        const doc = `${eventId('doc')}/gate`;
        const a = new Y.Doc();
        const updates: Uint8Array[] = [];
        a.on('update', (u: Uint8Array) => updates.push(u));
        a.getMap('m').set('x', 1);
        a.getMap('m').set('y', 2);
        const ids = await appendDocUpdates(store.db, doc, updates);
        const compacted = await compactDoc(store.db, doc);
        expect(compacted).toMatchObject({ folded: 2, upto: ids[1] });
        expect(compacted.updates.map((u) => u.id)).toEqual(ids);

        const fresh = await loadDoc(store.db, doc);
        expect(fresh.updates).toEqual([]);
        const b = new Y.Doc();
        Y.applyUpdate(b, fresh.snapshot!);
        expect(b.getMap('m').toJSON()).toEqual({ x: 1, y: 2 });
        expect(await loadDoc(store.db, doc, compacted.upto)).toEqual({ snapshot: undefined, updates: [], lastId: compacted.upto });
        expect((await loadDoc(store.db, doc, ids[0])).snapshot).toBeDefined();
      });
    });

    function newEventIn(trx: Store['db'], id: string) {
      return createEvent(trx, CreateEventBody.parse({ id, name: id, zones: [{ id: 'z', name: 'Z', capacity: 1 }], gates: [{ id: 'g', name: 'G', zone: 'z' }] }));
    }
  });
}
