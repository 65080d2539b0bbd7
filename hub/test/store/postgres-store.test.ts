import { migrations } from '@opshub/schema/migrations/index';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateEventBody } from '@opshub/schema';
import { createEvent, getEvent, PostgresStore } from '../../src/store/index.ts';
import { describeWithService } from '../support/services.ts';
import { storeContract } from './store-contract.ts';

describeWithService('DATABASE_URL', 'Store on PostgreSQL', (url) => {
  // One schema per run, dropped afterwards: runs on a shared database never see each other's rows.
  const schema = `opshub_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });

  storeContract('postgres', () => new PostgresStore({ url, schema }), { persistent: true });

  describe('PostgresStore', () => {
    it('keeps every table in its schema and shares data between stores on it', async () => {
      const a = new PostgresStore({ url, schema });
      const b = new PostgresStore({ url, schema });
      await Promise.all([a.start(), b.start()]);
      try {
        await createEvent(a.db, CreateEventBody.parse({ id: 'shared', name: 'Seen by both' }));
        expect((await getEvent(b.db, 'shared'))?.name).toBe('Seen by both');
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const { rows } = await client.query<{ table_schema: string }>(
            `select distinct table_schema from information_schema.tables where table_name = 'audit_log' and table_schema = $1`,
            [schema],
          );
          expect(rows).toEqual([{ table_schema: schema }]);
        } finally {
          await client.end();
        }
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('migrates a fresh schema once when several hub processes start together', async () => {
      const fresh = `${schema}_race`;
      const stores = Array.from({ length: 4 }, () => new PostgresStore({ url, schema: fresh, maxConnections: 2 }));
      try {
        await Promise.all(stores.map((s) => s.start()));
        const applied = await stores[0]!.db.selectFrom('kysely_migration' as never).select('name' as never).execute();
        expect(applied).toEqual(Object.keys(migrations).sort().map((name) => ({ name })));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`drop schema if exists "${fresh}" cascade`).finally(() => client.end());
      }
    });
  });
});
