import { sql, type Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';

/** zone → the staff correction added to what the scans say. */
export async function zoneAdjustments(db: Kysely<Database>, event: string): Promise<Map<string, number>> {
  const rows = await db.selectFrom('zone_adjustments').select(['zone_id', 'delta']).where('event_id', '=', event).execute();
  return new Map(rows.map((r) => [r.zone_id, r.delta]));
}

export async function setZoneAdjustment(db: Kysely<Database>, event: string, zone: string, delta: number): Promise<void> {
  await db
    .insertInto('zone_adjustments')
    .values({ event_id: event, zone_id: zone, delta })
    .onConflict((oc) => oc.columns(['event_id', 'zone_id']).doUpdateSet({ delta, updated_at: sql`now()` }))
    .execute();
}

/** "zone/percent" → armed, for the thresholds that have ever fired (absent means armed). */
export async function thresholdStates(db: Kysely<Database>, event: string): Promise<Map<string, boolean>> {
  const rows = await db.selectFrom('zone_thresholds').select(['zone_id', 'percent', 'armed']).where('event_id', '=', event).execute();
  return new Map(rows.map((r) => [`${r.zone_id}/${r.percent}`, r.armed]));
}

/**
 * Disarms a threshold if it is armed, atomically: true for exactly one caller per crossing, whichever hub it is.
 * @example if (await disarmThreshold(trx, 'expo', 'hall', 90)) raiseAlert();
 */
export async function disarmThreshold(db: Kysely<Database>, event: string, zone: string, percent: number): Promise<boolean> {
  const rows = await db
    .insertInto('zone_thresholds')
    .values({ event_id: event, zone_id: zone, percent, armed: false })
    .onConflict((oc) => oc.columns(['event_id', 'zone_id', 'percent']).doUpdateSet({ armed: false }).where('zone_thresholds.armed', '=', true))
    .returning('percent')
    .execute();
  return rows.length > 0;
}

export async function rearmThreshold(db: Kysely<Database>, event: string, zone: string, percent: number): Promise<void> {
  await db.updateTable('zone_thresholds').set({ armed: true }).where('event_id', '=', event).where('zone_id', '=', zone).where('percent', '=', percent).execute();
}
