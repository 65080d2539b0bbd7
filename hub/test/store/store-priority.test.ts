import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDialect } from '../../src/store/pglite/pglite-dialect.ts';
import { ordinarily, urgently } from '../../src/store/store-priority.ts';

let db: Kysely<unknown>;
beforeAll(async () => {
  db = new Kysely<unknown>({ dialect: pgliteDialect(await PGlite.create()) });
});
afterAll(async () => {
  await db.destroy();
});

/** A transaction that records when it started and ended, and holds the session until `hold` settles. */
function transaction(name: string, log: string[], hold: Promise<void> = Promise.resolve()): Promise<void> {
  return db.transaction().execute(async (trx) => {
    log.push(`${name} start`);
    await sql`select 1`.execute(trx);
    await hold;
    log.push(`${name} end`);
  });
}

/** Lets every queued caller reach the session's queue. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('PGlite session order (store-priority)', () => {
  it('hands the session to an urgent transaction before the ordinary ones that waited longer, one at a time', async () => {
    const log: string[] = [];
    let release!: () => void;
    const running = transaction('running', log, new Promise((resolve) => (release = resolve)));
    await settle();
    const waiting = [transaction('first', log), transaction('second', log)];
    await settle();
    const lever = urgently(() => transaction('lever', log));
    await settle();
    release();
    await Promise.all([running, ...waiting, lever]);
    // never two at once, the lever right after the transaction it could not interrupt, then the others in order
    expect(log).toEqual(['running start', 'running end', 'lever start', 'lever end', 'first start', 'first end', 'second start', 'second end']);
  });

  it('queues work an urgent caller starts as ordinary inside `ordinarily`', async () => {
    const log: string[] = [];
    let release!: () => void;
    const running = transaction('running', log, new Promise((resolve) => (release = resolve)));
    await settle();
    const earlier = transaction('earlier', log);
    await settle();
    const lasting = urgently(() => ordinarily(() => transaction('lasting', log)));
    await settle();
    release();
    await Promise.all([running, earlier, lasting]);
    expect(log).toEqual(['running start', 'running end', 'earlier start', 'earlier end', 'lasting start', 'lasting end']);
  });

  it('hands the session on after a transaction that failed', async () => {
    const log: string[] = [];
    const failing = db.transaction().execute(async (trx) => {
      await sql`select nonsense from nowhere`.execute(trx);
    });
    const after = urgently(() => transaction('after', log));
    await expect(failing).rejects.toThrow(/nowhere/);
    await after;
    expect(log).toEqual(['after start', 'after end']);
  });
});
