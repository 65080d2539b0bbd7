import type { Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';
import type { GateState, ZoneState } from '@opshub/schema';

/**
 * Gate states and zone door policies (issue 12), the Store's record of the gate doc's `directives` map. A gate or
 * zone without a row is `open` / not full, no redirect, `off`.
 */

/** Every directive of the event. `at` is ms since the epoch. */
export async function listDirectives(db: Kysely<Database>, event: string): Promise<{ gates: GateState[]; zones: ZoneState[] }> {
  const [gates, zones] = await Promise.all([
    db.selectFrom('gate_directives').selectAll().where('event_id', '=', event).orderBy('gate_id').execute(),
    db.selectFrom('zone_directives').selectAll().where('event_id', '=', event).orderBy('zone_id').execute(),
  ]);
  return {
    gates: gates.map((g) => ({ gate: g.gate_id, state: g.state, ...(g.message ? { message: g.message } : {}), by: g.updated_by, at: new Date(g.updated_at).getTime() })),
    zones: zones.map((z) => ({ zone: z.zone_id, full: z.full, redirect: z.redirect, enforce: z.enforce, by: z.updated_by, at: new Date(z.updated_at).getTime() })),
  };
}

/** Sets a gate's state; returns the state before (open when none was set). */
export async function putGateDirective(db: Kysely<Database>, event: string, state: Omit<GateState, 'at'> & { at: number }): Promise<GateState> {
  const before = await db.selectFrom('gate_directives').selectAll().where('event_id', '=', event).where('gate_id', '=', state.gate).executeTakeFirst();
  const row = { state: state.state, message: state.message ?? null, updated_by: state.by, updated_at: new Date(state.at) };
  await db
    .insertInto('gate_directives')
    .values({ event_id: event, gate_id: state.gate, ...row })
    .onConflict((oc) => oc.columns(['event_id', 'gate_id']).doUpdateSet(row))
    .execute();
  return before
    ? { gate: state.gate, state: before.state, ...(before.message ? { message: before.message } : {}), by: before.updated_by, at: new Date(before.updated_at).getTime() }
    : { gate: state.gate, state: 'open', by: '', at: 0 };
}

/** The zone's policy (defaults when none is set). */
export async function getZoneDirective(db: Kysely<Database>, event: string, zone: string): Promise<ZoneState> {
  const row = await db.selectFrom('zone_directives').selectAll().where('event_id', '=', event).where('zone_id', '=', zone).executeTakeFirst();
  return row
    ? { zone, full: row.full, redirect: row.redirect, enforce: row.enforce, by: row.updated_by, at: new Date(row.updated_at).getTime() }
    : { zone, full: false, redirect: null, enforce: 'off', by: '', at: 0 };
}

/** Stores a zone's whole policy. */
export async function putZoneDirective(db: Kysely<Database>, event: string, state: ZoneState): Promise<void> {
  const row = { full: state.full, redirect: state.redirect, enforce: state.enforce, updated_by: state.by, updated_at: new Date(state.at) };
  await db
    .insertInto('zone_directives')
    .values({ event_id: event, zone_id: state.zone, ...row })
    .onConflict((oc) => oc.columns(['event_id', 'zone_id']).doUpdateSet(row))
    .execute();
}
