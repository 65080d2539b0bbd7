import { sql, type Kysely } from 'kysely';
import type { Database, ScanDir, ScanVerdict } from '@opshub/schema/db';

/** A scan as it becomes a check-in row. */
export interface CheckinInput {
  scanId: string;
  event: string;
  code: string;
  gate: string;
  zone: string;
  device: string;
  dir: ScanDir;
  /** ms since the epoch, on the gate's clock */
  at: number;
  verdict: ScanVerdict;
  duplicate?: boolean;
  /** admitted on a deliberate override at the gate (issue 12) */
  override?: boolean;
}

const CHUNK = 500;

/**
 * Check-in transactions publish their messages before they commit. They hold this lock shared, and the summary
 * takes it exclusively, so a summary never sees a message whose row is not yet visible.
 * @example await db.transaction().execute(async (trx) => { await lockCheckinsShared(trx, 'expo'); … });
 */
export async function lockCheckinsShared(trx: Kysely<Database>, event: string): Promise<void> {
  await sql`select pg_advisory_xact_lock_shared(hashtext(${'checkins:' + event}))`.execute(trx);
}

/** Waits for the event's in-flight check-in transactions and holds new ones off until this transaction ends. */
export async function lockCheckinsExclusive(trx: Kysely<Database>, event: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${'checkins:' + event}))`.execute(trx);
}

/**
 * Inserts check-ins, idempotent on `scanId`: returns the ids this call inserted. A scan that arrives twice (from the
 * gate and from a peer, or through two hubs) is inserted once, so whoever inserted it owns its side effects.
 * @example const fresh = await insertCheckins(trx, rows); for (const row of rows) if (fresh.has(row.scanId)) publish(row);
 */
export async function insertCheckins(db: Kysely<Database>, rows: readonly CheckinInput[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let i = 0; i < rows.length; i += CHUNK) {
    const result = await db
      .insertInto('checkins')
      .values(
        rows.slice(i, i + CHUNK).map((r) => ({
          scan_id: r.scanId,
          event_id: r.event,
          code: r.code,
          gate_id: r.gate,
          zone_id: r.zone,
          device: r.device,
          dir: r.dir,
          at: new Date(r.at),
          verdict: r.verdict,
          duplicate: r.duplicate ?? false,
          override: r.override ?? false,
        })),
      )
      .onConflict((oc) => oc.column('scan_id').doNothing())
      .returning('scan_id')
      .execute();
    for (const row of result) inserted.add(row.scan_id);
  }
  return inserted;
}

/** The scan ids of an event already recorded as check-ins (used when a replica loads, to skip known scans). */
export async function recordedScanIds(db: Kysely<Database>, event: string): Promise<Set<string>> {
  const rows = await db.selectFrom('checkins').select('scan_id').where('event_id', '=', event).execute();
  return new Set(rows.map((r) => r.scan_id));
}

/** Marks check-ins as duplicate admissions (or clears the mark when a late scan shows they were not). */
export async function markDuplicates(db: Kysely<Database>, scanIds: readonly string[], duplicate: boolean): Promise<void> {
  if (scanIds.length === 0) return;
  await db.updateTable('checkins').set({ duplicate }).where('scan_id', 'in', scanIds).execute();
}

export interface GateTally {
  scans: number;
  admitted: number;
  exits: number;
  denied: number;
  /** ms since the epoch of the gate's latest scan */
  lastScan: number | null;
}

export interface CheckinSummary {
  registered: number;
  checkedIn: number;
  inside: number;
  byGate: Record<string, GateTally>;
  byZone: Record<string, { inside: number; capacity: number }>;
  duplicates: number;
}

/**
 * `GET /api/v1/events/{e}/checkins/summary`, from the check-in rows (the record every hub writes to):
 * registered valid tickets, attendees admitted at least once, attendees inside now (their latest admitted scan is
 * an `in`), per gate and per zone, and duplicate admissions.
 * @example const { inside, byZone } = await checkinSummary(db, 'expo');
 */
export async function checkinSummary(db: Kysely<Database>, event: string): Promise<CheckinSummary> {
  const [registered, checkedIn, latest, gates, zones, duplicates] = await Promise.all([
    db.selectFrom('tickets').select((eb) => eb.fn.countAll<string>().as('n')).where('event_id', '=', event).where('status', '=', 'valid').executeTakeFirst(),
    db
      .selectFrom('checkins')
      .select(sql<string>`count(distinct code)`.as('n'))
      .where('event_id', '=', event)
      .where('dir', '=', 'in')
      .where('verdict', '=', 'admitted')
      .executeTakeFirst(),
    sql<{ zone_id: string; n: string }>`
      select zone_id, count(*) as n from (
        select distinct on (code) code, dir, zone_id from checkins
        where event_id = ${event} and verdict = 'admitted'
        order by code, at desc, scan_id desc
      ) latest where dir = 'in' group by zone_id`.execute(db),
    db
      .selectFrom('checkins')
      .select([
        'gate_id',
        (eb) => eb.fn.countAll<string>().as('scans'),
        sql<string>`count(*) filter (where verdict = 'admitted' and dir = 'in')`.as('admitted'),
        sql<string>`count(*) filter (where verdict = 'admitted' and dir = 'out')`.as('exits'),
        sql<string>`count(*) filter (where verdict <> 'admitted')`.as('denied'),
        sql<Date>`max(at)`.as('last_scan'),
      ])
      .where('event_id', '=', event)
      .groupBy('gate_id')
      .execute(),
    db.selectFrom('zones').select(['id', 'capacity']).where('event_id', '=', event).execute(),
    db.selectFrom('checkins').select((eb) => eb.fn.countAll<string>().as('n')).where('event_id', '=', event).where('duplicate', '=', true).executeTakeFirst(),
  ]);
  const insideByZone = new Map(latest.rows.map((r) => [r.zone_id, Number(r.n)]));
  const byZone: CheckinSummary['byZone'] = {};
  for (const zone of zones) byZone[zone.id] = { inside: insideByZone.get(zone.id) ?? 0, capacity: zone.capacity };
  const byGate: CheckinSummary['byGate'] = {};
  for (const g of gates) {
    byGate[g.gate_id] = {
      scans: Number(g.scans),
      admitted: Number(g.admitted),
      exits: Number(g.exits),
      denied: Number(g.denied),
      lastScan: g.last_scan ? new Date(g.last_scan).getTime() : null,
    };
  }
  return {
    registered: Number(registered?.n ?? 0),
    checkedIn: Number(checkedIn?.n ?? 0),
    inside: [...insideByZone.values()].reduce((a, b) => a + b, 0),
    byGate,
    byZone,
    duplicates: Number(duplicates?.n ?? 0),
  };
}

/** One recorded scan of a ticket, as a ticket's page lists it. */
export interface TicketScanRow {
  scanId: string;
  gate: string;
  zone: string;
  device: string;
  dir: 'in' | 'out';
  verdict: string;
  duplicate: boolean;
  at: number;
}

/**
 * A ticket's recorded scans across every gate, newest first (by scan time).
 * @example const scans = await ticketScans(db, 'expo', 'A1', 200);
 */
export async function ticketScans(db: Kysely<Database>, event: string, code: string, limit: number): Promise<TicketScanRow[]> {
  const rows = await db
    .selectFrom('checkins')
    .select(['scan_id', 'gate_id', 'zone_id', 'device', 'dir', 'verdict', 'duplicate', 'at'])
    .where('event_id', '=', event)
    .where('code', '=', code)
    .orderBy('at', 'desc')
    .orderBy('scan_id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ scanId: r.scan_id, gate: r.gate_id, zone: r.zone_id, device: r.device, dir: r.dir, verdict: r.verdict, duplicate: r.duplicate, at: new Date(r.at).getTime() }));
}

/**
 * Which of these tickets are inside now: their latest admitted scan is an `in` (the summary's definition).
 * @example const inside = await codesInside(db, 'expo', ['A1', 'A2']); // Set { 'A1' }
 */
export async function codesInside(db: Kysely<Database>, event: string, codes: readonly string[]): Promise<Set<string>> {
  if (codes.length === 0) return new Set();
  const rows = await db
    .selectFrom('checkins')
    .select(['code', 'dir'])
    .distinctOn('code')
    .where('event_id', '=', event)
    .where('verdict', '=', 'admitted')
    .where('code', 'in', codes)
    .orderBy('code')
    .orderBy('at', 'desc')
    .orderBy('scan_id', 'desc')
    .execute();
  return new Set(rows.filter((r) => r.dir === 'in').map((r) => r.code));
}

/**
 * Of these codes, those with an admitted `in` recorded by another scan than `except`: the tickets that were checked in
 * already. Read inside the deriving transaction, after its own rows are inserted.
 * @example const before = await codesAdmittedBefore(trx, 'expo', ['A1'], new Set(['scan-7']));
 */
export async function codesAdmittedBefore(db: Kysely<Database>, event: string, codes: readonly string[], except: ReadonlySet<string>): Promise<Set<string>> {
  if (codes.length === 0) return new Set();
  let query = db
    .selectFrom('checkins')
    .select('code')
    .distinct()
    .where('event_id', '=', event)
    .where('code', 'in', [...new Set(codes)])
    .where('dir', '=', 'in')
    .where('verdict', '=', 'admitted');
  if (except.size > 0) query = query.where('scan_id', 'not in', [...except]);
  return new Set((await query.execute()).map((r) => r.code));
}
