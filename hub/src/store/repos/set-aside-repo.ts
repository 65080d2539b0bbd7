import type { Kysely } from 'kysely';
import type { Database, SetAsideKind } from '@opshub/schema/db';

/** A scan the hub derives no check-in from, and why. */
export interface SetAsideInput {
  scanId: string;
  event: string;
  kind: SetAsideKind;
  gate: string;
  /** the scan as it sits in the doc */
  record: unknown;
  reason: string;
}

/**
 * Records a scan as set aside, once: returns false when it was already (another hub, or an earlier pass), so only
 * one process alerts on it. The record is kept as JSON text: JSON escapes what the Store's text refuses (a NUL).
 * @example if (await setAsideScan(trx, { scanId, event: 'expo', kind: 'poison', gate: 'north', record: scan, reason })) alert();
 */
export async function setAsideScan(db: Kysely<Database>, input: SetAsideInput): Promise<boolean> {
  const rows = await db
    .insertInto('scans_set_aside')
    .values({
      scan_id: input.scanId,
      event_id: input.event,
      kind: input.kind,
      gate_id: printable(input.gate, 64),
      record: JSON.stringify(input.record),
      reason: printable(input.reason, 500),
    })
    .onConflict((oc) => oc.column('scan_id').doNothing())
    .returning('scan_id')
    .execute();
  return rows.length > 0;
}

/** The ids of an event's set-aside scans (a loading replica skips them, as it skips recorded check-ins). */
export async function setAsideScanIds(db: Kysely<Database>, event: string): Promise<Set<string>> {
  const rows = await db.selectFrom('scans_set_aside').select('scan_id').where('event_id', '=', event).execute();
  return new Set(rows.map((r) => r.scan_id));
}

/** An event's set-aside scans, newest first (for the control room and tests). */
export async function listSetAside(db: Kysely<Database>, event: string, limit = 200): Promise<{ scanId: string; kind: SetAsideKind; gate: string; reason: string; at: number }[]> {
  const rows = await db.selectFrom('scans_set_aside').selectAll().where('event_id', '=', event).orderBy('created_at', 'desc').limit(limit).execute();
  return rows.map((r) => ({ scanId: r.scan_id, kind: r.kind, gate: r.gate_id, reason: r.reason, at: new Date(r.created_at).getTime() }));
}

/**
 * `text` cut to `max` characters with control characters replaced, so that what a misbehaving gate wrote can be
 * stored and shown (a NUL would make the Store refuse the very row that reports it).
 * @example printable('T-\u00001', 64) // 'T-\uFFFD1'
 */
export function printable(text: string, max: number): string {
  return text.slice(0, max).replace(/\p{Cc}/gu, '\uFFFD');
}
