/**
 * `/healthz` reports the Store: a private PostgreSQL (never the machine's shared one) is stopped and started again
 * under a PostgresStore. StoreHealth must say unreachable within a few seconds of the stop, reachable again after
 * the start, and the hub's `/healthz` must say the same with a 503 naming the store.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalPostgres } from '@opshub/deploy/local/postgres-server';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { StoreHealth } from '../../src/store/store-health.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { registerOpsRoutes } from '../../src/rest/ops-routes.ts';
import { describeWithTool } from '../support/services.ts';
import { toErrorReply } from '../../src/errors.ts';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWithTool('postgres', 'Store health on a PostgreSQL that stops and starts', () => {
  let db: LocalPostgres;
  let store: PostgresStore;
  let health: StoreHealth;

  beforeAll(async () => {
    db = await LocalPostgres.start();
    store = new PostgresStore({ url: db.url, schema: 'health' });
    await store.start();
    health = new StoreHealth(store, { intervalMs: 200, timeoutMs: 2000 });
    health.start();
  }, 120_000);

  afterAll(async () => {
    health?.close();
    await store?.close();
    await db?.close();
  }, 60_000);

  it('pings while up, fails while down, and recovers on a new connection after the restart', async () => {
    await store.ping();
    expect(await health.check()).toBe(true);

    await db.down();
    await expect(store.ping()).rejects.toThrow();
    await until('StoreHealth to report the outage', () => !health.isHealthy(), 10_000);

    await db.up();
    await until('StoreHealth to report the Store back', () => health.isHealthy(), 15_000);
    await store.ping();
    // The pool's connections were cut by the restart; a query still works (the pool replaces them).
    await until('a pooled query to succeed again', () => store.db.selectFrom('events').select('id').execute().then(() => true, () => false), 15_000);
  }, 90_000);

  it('makes /healthz answer 503 naming the store while it is down, 200 once it is back', async () => {
    const { loadNativeUws } = await import('../../src/native-uws.ts');
    const uws = loadNativeUws();
    const app = uws.App();
    const bus = new MemoryBus();
    await bus.start();
    const { HubMetrics } = await import('../../src/metrics.ts');
    const { createLogger } = await import('../../src/log.ts');
    const analytics = { kind: 'chdb', stats: () => ({ queued: 0, dropped: 0, failures: 0 }) } as never;
    const log = createLogger('silent');
    registerOpsRoutes(app, { bus, store, analytics, metrics: new HubMetrics({ bus, analytics }), log, storeHealthy: () => health.isHealthy() });
    const listen = await new Promise<unknown>((resolve) => app.listen('127.0.0.1', 0, resolve));
    const port = uws.us_socket_local_port(listen as never);
    const healthz = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: res.status, body: (await res.json()) as { ok: boolean; store: string; problems?: string[] } };
    };
    try {
      await until('a healthy store', () => health.isHealthy(), 15_000);
      expect(await healthz()).toEqual({ status: 200, body: { ok: true, bus: 'memory', store: 'postgres', analytics: 'chdb' } });
      await db.down();
      await until('/healthz to report the store', async () => (await healthz()).status === 503, 10_000);
      expect((await healthz()).body).toMatchObject({ ok: false, store: 'postgres', problems: ['postgres store unreachable'] });
      await db.up();
      await until('/healthz to be ready again', async () => (await healthz()).status === 200, 15_000);
    } finally {
      uws.us_listen_socket_close(listen as never);
      await bus.close();
    }
  }, 90_000);
});

describeWithTool('postgres', 'PostgresStore when PostgreSQL restarts under a connection in use', () => {
  it('fails the transaction in flight, keeps the process alive, and works again after the restart', async () => {
    const db = await LocalPostgres.start();
    const store = new PostgresStore({ url: db.url, schema: 'restart' });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      await store.start();
      // A transaction holds its connection between queries: the server's "terminating connection" arrives with no
      // query active, which node-postgres emits as an 'error' event on the checked-out client.
      const { sql } = await import('kysely');
      const outcome = store.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await db.down('SIGINT');
        await new Promise((r) => setTimeout(r, 300));
        await sql`select 1`.execute(trx);
      });
      const failure = await outcome.then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      // What a client whose command was in that transaction is told: retry later, not "the hub is broken".
      expect(toErrorReply(failure).code).toBe('unavailable');
      expect(uncaught).toEqual([]);

      // While it is down, a new query fails fast and is `unavailable` too; a wrong query stays `internal`.
      const started = Date.now();
      const whileDown = await store.db.selectFrom('events').select('id').execute().then(() => undefined, (error: unknown) => error);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(toErrorReply(whileDown)).toMatchObject({ code: 'unavailable', status: 503 });
      await db.up();
      await until('queries to work again', () => store.db.selectFrom('events').select('id').execute().then(() => true, () => false), 15_000);
      const wrong = await sql`select * from no_such_table`.execute(store.db).then(() => undefined, (error: unknown) => error);
      expect(toErrorReply(wrong)).toMatchObject({ code: 'internal', status: 500 });
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await store.close();
      await db.close();
    }
  }, 90_000);
});
