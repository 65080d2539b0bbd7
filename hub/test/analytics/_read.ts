import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { PgliteStore } from '../../src/store/pglite/pglite-store.ts';
import { recordAnalytics, readOutboxBody, outboxStart } from '../../src/store/repos/analytics-outbox-repo.ts';
import { generateTraffic, trafficPlan } from './traffic.ts';
const total = Number(process.argv[2] ?? 200000);
const dir = mkdtempSync(join(tmpdir(), 'an-read-'));
const events = [...generateTraffic(trafficPlan({ events: total, tickets: total / 400, meanGapMs: 30000, seed: 11 }))];
const store = new PgliteStore({ dataDir: join(dir, 'store'), template: process.env.PGLITE_TEMPLATE });
await store.start();
for (let i = 0; i < events.length; i += 1000) await store.db.transaction().execute((trx) => recordAnalytics(trx, events.slice(i, i + 1000)));
const db = store.db;
async function variantB(after: { tx: string; id: string }, limit: number) {
  const { rows } = await sql<{ body: string; n: string; last: string }>`
    select string_agg(b.id::text || E'\t' || b.line, E'\n') as body, count(*) as n, max(b.tx::text || '.' || lpad(b.id::text, 20, '0')) as last from (
      select o.tx, o.id, o.line from analytics_outbox o where (o.tx, o.id) > (${after.tx}::xid8, ${after.id}::bigint) and o.tx < pg_snapshot_xmin(pg_current_snapshot()) order by o.tx, o.id limit ${limit}
    ) b`.execute(db);
  return rows[0]!;
}
async function variantC(after: { tx: string; id: string }, limit: number) {
  // lines only, last from a separate index-only query
  const { rows } = await sql<{ body: string; n: string }>`
    select string_agg(b.id::text || E'\t' || b.line, E'\n') as body, count(*) as n from (
      select o.id, o.line from analytics_outbox o where (o.tx, o.id) > (${after.tx}::xid8, ${after.id}::bigint) and o.tx < pg_snapshot_xmin(pg_current_snapshot()) order by o.tx, o.id limit ${limit}
    ) b`.execute(db);
  return rows[0]!;
}
for (let round = 0; round < 2; round++) {
  for (const [name, f] of [
    ['A backlog', (a: any) => readOutboxBody(db, a, { limit: 50000 }, { backlog: true })],
    ['A plain', (a: any) => readOutboxBody(db, a, { limit: 50000 })],
    ['B', (a: any) => variantB(a, 50000)],
    ['C', (a: any) => variantC(a, 50000)],
  ] as const) {
    const c = process.cpuUsage(); const s = performance.now();
    const r: any = await f(outboxStart);
    const u = process.cpuUsage(c);
    console.log(name.padEnd(10), Math.round(performance.now() - s), 'ms wall', Math.round((u.user + u.system) / 1000), 'ms cpu', r.rows ?? r.n, (r.body ?? '').length);
  }
}
const { rows } = await sql<any>`explain analyze select o.tx, o.id, o.line from analytics_outbox o where (o.tx, o.id) > ('0'::xid8, 0::bigint) and o.tx < pg_snapshot_xmin(pg_current_snapshot()) order by o.tx, o.id limit 50000`.execute(db);
console.log(rows.map((r: any) => r['QUERY PLAN']).join('\n'));
await store.close(); rmSync(dir, { recursive: true, force: true }); process.exit(0);
