import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDialects } from '../../src/store/pglite/pglite-dialect.ts';

let pglite: PGlite;
let db: Kysely<unknown>;
let urgentDb: Kysely<unknown>;
beforeAll(async () => {
  pglite = await PGlite.create();
  const { ordinary, urgent } = pgliteDialects(pglite);
  db = new Kysely<unknown>({ dialect: ordinary });
  urgentDb = new Kysely<unknown>({ dialect: urgent });
});
afterAll(async () => {
  await urgentDb.destroy();
  await db.destroy();
});

/** A transaction on `on` that records when it started and ended, and holds the session until `hold` settles. */
function transaction(on: Kysely<unknown>, name: string, log: string[], hold: Promise<void> = Promise.resolve()): Promise<void> {
  return on.transaction().execute(async (trx) => {
    log.push(`${name} start`);
    await sql`select 1`.execute(trx);
    await hold;
    log.push(`${name} end`);
  });
}

/**
 * A turn of the event loop: every transaction started before it has asked the driver for the session by then (that
 * path is promises only, which all run before a timer).
 */
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('PGlite session order (urgentDb)', () => {
  it('hands the session to an urgent transaction before the ordinary ones that waited longer, one at a time', async () => {
    const log: string[] = [];
    let release!: () => void;
    const running = transaction(db, 'running', log, new Promise((resolve) => (release = resolve)));
    await nextTurn();
    const waiting = [transaction(db, 'first', log), transaction(db, 'second', log)];
    await nextTurn();
    const lever = transaction(urgentDb, 'lever', log);
    await nextTurn();
    release();
    await Promise.all([running, ...waiting, lever]);
    // never two at once, the lever right after the transaction it could not interrupt, then the others in order
    expect(log).toEqual(['running start', 'running end', 'lever start', 'lever end', 'first start', 'first end', 'second start', 'second end']);
  });

  it('never lets an urgent transaction into an ordinary one that holds the session', async () => {
    const log: string[] = [];
    let release!: () => void;
    const running = transaction(db, 'running', log, new Promise((resolve) => (release = resolve)));
    await nextTurn();
    const lever = transaction(urgentDb, 'lever', log);
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(log).toEqual(['running start']);
    release();
    await Promise.all([running, lever]);
    expect(log).toEqual(['running start', 'running end', 'lever start', 'lever end']);
  });

  it('hands the session on after a transaction that failed', async () => {
    const log: string[] = [];
    const failing = db.transaction().execute(async (trx) => {
      await sql`select nonsense from nowhere`.execute(trx);
    });
    const after = transaction(urgentDb, 'after', log);
    await expect(failing).rejects.toThrow(/nowhere/);
    await after;
    expect(log).toEqual(['after start', 'after end']);
  });

  it('leaves PGlite open when the urgent handle is destroyed; the ordinary one closes it', async () => {
    const own = await PGlite.create();
    const { ordinary, urgent } = pgliteDialects(own);
    const ownDb = new Kysely<unknown>({ dialect: ordinary });
    const ownUrgent = new Kysely<unknown>({ dialect: urgent });
    await sql`select 1`.execute(ownUrgent);
    await ownUrgent.destroy();
    expect((await sql<{ n: number }>`select 1 as n`.execute(ownDb)).rows).toEqual([{ n: 1 }]);
    await ownDb.destroy();
    expect(own.closed).toBe(true);
  });
});
