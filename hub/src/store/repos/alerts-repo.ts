import type { Kysely, Selectable } from 'kysely';
import type { AlertMessage } from '@opshub/schema';
import type { AlertsTable, Database } from '@opshub/schema/db';

/**
 * Records an alert once: returns false when an alert with this id exists already (another hub, or an earlier
 * pass, raised it), so only one process publishes it.
 * @example if (await insertAlert(trx, 'expo', alert)) await bus.publish('event/expo/alerts', alert);
 */
export async function insertAlert(db: Kysely<Database>, event: string, alert: AlertMessage): Promise<boolean> {
  const rows = await db
    .insertInto('alerts')
    .values({
      id: alert.id,
      event_id: event,
      kind: alert.kind,
      severity: alert.severity,
      title: alert.title,
      detail: JSON.stringify(alert.detail),
      created_at: new Date(alert.at),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .execute();
  return rows.length > 0;
}

/** Marks an alert withdrawn (a late scan showed it was not what it seemed); false when already withdrawn or absent. */
export async function withdrawAlert(db: Kysely<Database>, id: string): Promise<boolean> {
  const rows = await db.updateTable('alerts').set({ withdrawn_at: new Date() }).where('id', '=', id).where('withdrawn_at', 'is', null).returning('id').execute();
  return rows.length > 0;
}

/** The event's alerts, newest first, as the alerts topic carries them (withdrawn ones left out). */
export async function listAlerts(db: Kysely<Database>, event: string, limit = 200): Promise<AlertMessage[]> {
  const rows = await db
    .selectFrom('alerts')
    .selectAll()
    .where('event_id', '=', event)
    .where('withdrawn_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toMessage);
}

/**
 * Acknowledges an alert once: the first acknowledgement wins and is returned with `already: false`; later ones
 * return the standing acknowledgement with `already: true`. Undefined when the event has no such alert.
 */
export async function ackAlert(
  db: Kysely<Database>,
  event: string,
  id: string,
  by: string,
): Promise<{ alert: AlertMessage; already: boolean } | undefined> {
  const updated = await db
    .updateTable('alerts')
    .set({ acked_by: by, acked_at: new Date() })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .where('acked_at', 'is', null)
    .returning('id')
    .execute();
  const row = await db.selectFrom('alerts').selectAll().where('event_id', '=', event).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return { alert: toMessage(row), already: updated.length === 0 };
}

function toMessage(r: Selectable<AlertsTable>): AlertMessage {
  return {
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    at: new Date(r.created_at).getTime(),
    title: r.title,
    detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
    ...(r.acked_by && r.acked_at ? { ack: { by: r.acked_by, at: new Date(r.acked_at).getTime() } } : {}),
  };
}

/** The event's open alerts of one kind (not withdrawn nor resolved), oldest first. */
export async function openAlertsOfKind(db: Kysely<Database>, event: string, kind: AlertMessage['kind']): Promise<AlertMessage[]> {
  const rows = await db
    .selectFrom('alerts')
    .selectAll()
    .where('event_id', '=', event)
    .where('kind', '=', kind)
    .where('withdrawn_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toMessage);
}

/**
 * Restates an open alert's title and facts (a capacity alert's current figure); false when it is gone or closed.
 * @example if (await restateAlert(db, alert.id, 'Hall A … now 205 %', detail)) await bus.publish(topic, { ...alert, title, detail });
 */
export async function restateAlert(db: Kysely<Database>, id: string, title: string, detail: Record<string, unknown>): Promise<boolean> {
  const rows = await db
    .updateTable('alerts')
    .set({ title, detail: JSON.stringify(detail) })
    .where('id', '=', id)
    .where('withdrawn_at', 'is', null)
    .returning('id')
    .execute();
  return rows.length > 0;
}

/** Open alerts (not withdrawn) of every event, counted by kind: what `/metrics` shows as `opshub_alerts_open{kind}`. */
export async function countOpenAlertsByKind(db: Kysely<Database>): Promise<{ kind: string; open: number }[]> {
  const rows = await db
    .selectFrom('alerts')
    .select(['kind', (eb) => eb.fn.countAll<string>().as('open')])
    .where('withdrawn_at', 'is', null)
    .groupBy('kind')
    .execute();
  return rows.map((row) => ({ kind: row.kind, open: Number(row.open) }));
}
