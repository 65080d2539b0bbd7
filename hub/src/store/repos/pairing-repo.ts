import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@opshub/schema/db';
import type { PairedDeviceRow } from '@opshub/schema/db-pairing';
import { NotFoundError } from '../errors.ts';

/** A laptop paired with a gate, as the hub hands it out. */
export interface PairedDevice {
  id: string;
  gate: string;
  label: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** The subject of a paired device's token: revoking the device revokes this subject. */
export const deviceSubject = (id: string): string => `device:${id}`;

/**
 * Records a new laptop for a gate; the caller mints its token with subject {@link deviceSubject}.
 * @example const device = await addPairedDevice(db, { event: 'expo', gate: 'north', label: 'desk 1', createdBy: 'ana', expiresAt });
 */
export async function addPairedDevice(
  db: Kysely<Database>,
  input: { event: string; gate: string; label: string; createdBy: string; expiresAt: Date },
): Promise<PairedDevice> {
  const row = await db
    .insertInto('paired_devices')
    .values({ id: `d-${randomBytes(6).toString('base64url')}`, event_id: input.event, gate_id: input.gate, label: input.label, created_by: input.createdBy, expires_at: input.expiresAt })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toDevice(row);
}

/** The event's paired laptops, newest first (revoked and expired ones too: the page says which). */
export async function listPairedDevices(db: Kysely<Database>, event: string): Promise<PairedDevice[]> {
  const rows = await db.selectFrom('paired_devices').selectAll().where('event_id', '=', event).orderBy('created_at', 'desc').orderBy('id').execute();
  return rows.map(toDevice);
}

/**
 * Marks a device unpaired; the caller puts its token's subject ({@link deviceSubject}) on the revocation list, which is
 * what ends its token. Unpairing twice keeps the first time.
 * @throws {NotFoundError} when the event has no such device
 */
export async function unpairDevice(db: Kysely<Database>, event: string, id: string): Promise<PairedDevice> {
  const row = await db
    .updateTable('paired_devices')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('event_id', '=', event)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('device', id);
  return toDevice(row);
}

function toDevice(row: PairedDeviceRow): PairedDevice {
  return {
    id: row.id,
    gate: row.gate_id,
    label: row.label,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).getTime(),
    expiresAt: new Date(row.expires_at).getTime(),
    revokedAt: row.revoked_at ? new Date(row.revoked_at).getTime() : null,
  };
}
