import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsErasure } from '@opshub/schema';
import type { AnalyticsEvent } from '../../src/analytics/analytics.ts';
import { listAudit } from '../../src/store/repos/audit-log.ts';
import { recordAnalytics } from '../../src/store/repos/analytics-outbox-repo.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';

/**
 * The REST side of retention and erasure on a real hub (uWS, PGlite, chDB): the streamed export in both formats, an
 * attendee's erasure and an event's deletion, who may call them, and the audit rows they leave.
 */
const admin = { role: 'admin' as const, sub: 'root', events: ['*'] };
const staff = { role: 'staff' as const, sub: 'sam', events: ['expo'] };
let t: TestHub;

// Recent: the hub's relay prunes outbox rows older than its retention (48 h), and the answers count outbox rows too.
const start = Date.now() - 600_000;
const events: AnalyticsEvent[] = Array.from({ length: 300 }, (_, i) => ({
  ts: start + i * 1_000,
  event: 'expo',
  kind: i % 3 === 0 ? 'scan.in.admitted' : 'poll.vote',
  actor: i % 3 === 0 ? 'gate-1' : `att-${i % 10}`,
  zone: i % 3 === 0 ? 'hall' : '',
  session: i % 3 === 0 ? '' : 'keynote',
  ticket: i % 3 === 0 ? `T-${i % 10}` : '',
  // A comma, a quote and a newline in a value: the CSV must carry them intact.
  properties: { note: 'a, "b"\nc' },
}));

beforeAll(async () => {
  t = await startTestHub();
  await t.backends.store.db.transaction().execute((trx) => recordAnalytics(trx, events));
  await t.hub.analyticsRelay.drain();
}, 120_000);
afterAll(() => t?.close());

async function count(where = ''): Promise<number> {
  const [row] = await t.backends.analytics.query<{ n: string }>(`SELECT count() AS n FROM events WHERE event = 'expo' ${where}`);
  return Number(row!.n);
}

describe('analytics export and erasure over REST', { timeout: 120_000 }, () => {
  it('streams the raw events as CSV with a header, and as Parquet, to admins and staff only; each export audited', async () => {
    const res = await t.api('/api/v1/events/expo/analytics/export?format=csv', { claims: staff });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="analytics-expo.csv"');
    const csv = await res.text();
    expect(csv.split('\n')[0]).toBe('"ts","event","kind","actor","zone","session","exhibitor","ticket","properties","oid"');
    expect(csv.match(/^"20\d\d-/gm)?.length).toBe(300);
    expect(csv).toContain('"{""note"":""a, \\""b\\""\\nc""}"');

    const parquet = await t.api('/api/v1/events/expo/analytics/export?format=parquet', { claims: admin });
    expect(parquet.status).toBe(200);
    expect(parquet.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const bytes = Buffer.from(await parquet.arrayBuffer());
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    expect(bytes.subarray(-4).toString()).toBe('PAR1');

    expect((await t.api('/api/v1/events/expo/analytics/export', { claims: { role: 'sponsor', sub: 's', sponsor: 'acme' } })).status).toBe(403);
    expect((await t.api('/api/v1/events/expo/analytics/export?format=xml', { claims: admin })).status).toBe(400);
    expect((await t.api('/api/v1/events/expo/analytics/export')).status).toBe(401);
    const audit = await listAudit(t.backends.store.db, { event: 'expo', action: 'analytics.export' });
    expect(audit.map((a) => [a.actor, a.after])).toEqual([
      ['root', { format: 'parquet' }],
      ['sam', { format: 'csv' }],
    ]);
  });

  it('erases one attendee (ticket and actor) everywhere, answers once this hub applied it, and audits it', async () => {
    const theirs = await count("AND (ticket = 'T-3' OR actor = 'att-3')");
    expect(theirs).toBeGreaterThan(0);
    const before = await count();
    const res = await t.api('/api/v1/events/expo/analytics/erasures', { method: 'POST', claims: staff, body: JSON.stringify({ tickets: ['T-3'], actors: ['att-3'] }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    const answer = AnalyticsErasure.parse(await res.json());
    expect(answer).toMatchObject({ event: 'expo', tickets: ['T-3'], actors: ['att-3'], outboxRows: theirs, applied: true });
    expect(await count()).toBe(before - theirs);
    expect(await count("AND (ticket = 'T-3' OR actor = 'att-3')")).toBe(0);
    const [audit] = await listAudit(t.backends.store.db, { event: 'expo', action: 'analytics.erase.attendee' });
    expect(audit).toMatchObject({ actor: 'sam', target: 'T-3,att-3', after: { id: answer.id, outboxRows: theirs } });

    const empty = await t.api('/api/v1/events/expo/analytics/erasures', { method: 'POST', claims: staff, body: '{}', headers: { 'content-type': 'application/json' } });
    expect(empty.status).toBe(400);
    const moderator = await t.api('/api/v1/events/expo/analytics/erasures', { method: 'POST', claims: { role: 'moderator', sub: 'm' }, body: JSON.stringify({ tickets: ['T-1'] }) });
    expect(moderator.status).toBe(403);
  });

  it('deletes the event\'s analytics on request, audited', async () => {
    const before = await count();
    const res = await t.api('/api/v1/events/expo/analytics', { method: 'DELETE', claims: admin });
    expect(res.status).toBe(200);
    expect(AnalyticsErasure.parse(await res.json())).toMatchObject({ tickets: [], actors: [], outboxRows: before, applied: true });
    expect(await count()).toBe(0);
    const [heatmap] = await t.backends.analytics.query<{ n: string }>("SELECT count() AS n FROM session_engagement_1m WHERE event = 'expo'");
    expect(heatmap!.n).toBe('0');
    expect(await listAudit(t.backends.store.db, { event: 'expo', action: 'analytics.erase.event' })).toHaveLength(1);
  });
});
