/**
 * The control-room lever tables as kysely sees them; `migrations/0015-levers.ts` creates exactly these. `Database` in
 * `db.ts` extends {@link LeversTables}.
 */
import type { ColumnType } from 'kysely';
import type { CreatedAt } from './db.ts';

/** A gate's state set by the control room (absent: `open`). */
export interface GateDirectivesTable {
  event_id: string;
  gate_id: string;
  state: 'open' | 'hold' | 'closed';
  message: string | null;
  updated_by: string;
  updated_at: CreatedAt;
}

/** A zone's door policy (absent: not full, no redirect, `off`). */
export interface ZoneDirectivesTable {
  event_id: string;
  zone_id: string;
  full: ColumnType<boolean, boolean | undefined, boolean>;
  redirect: string | null;
  enforce: ColumnType<'off' | 'warn' | 'refuse', 'off' | 'warn' | 'refuse' | undefined, 'off' | 'warn' | 'refuse'>;
  updated_by: string;
  updated_at: CreatedAt;
}

export interface LeversTables {
  gate_directives: GateDirectivesTable;
  zone_directives: ZoneDirectivesTable;
}
