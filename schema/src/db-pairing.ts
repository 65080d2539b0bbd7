/**
 * The gate pairing table as kysely sees it; `migrations/0016-pairing.ts` creates exactly this. `Database` in `db.ts`
 * extends {@link PairingTables}.
 */
import type { ColumnType, Selectable } from 'kysely';
import type { CreatedAt } from './db.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One laptop paired with a gate; its token's subject is `device:{id}`. */
export interface PairedDevicesTable {
  id: string;
  event_id: string;
  gate_id: string;
  label: string;
  created_by: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface PairingTables {
  paired_devices: PairedDevicesTable;
}

export type PairedDeviceRow = Selectable<PairedDevicesTable>;
