/**
 * The join-code table as kysely sees it; `migrations/0005-join.ts` creates exactly this. `Database` in `db.ts`
 * extends {@link JoinTables}. Type-only kysely imports, as in `db.ts`.
 */
import type { CreatedAt } from './db.ts';

export interface EventJoinCodesTable {
  event_id: string;
  /** normalised: upper case letters and digits only (see `normalizeJoinCode`) */
  code: string;
  /** the `sub` of whoever set it, or `system` when the hub generated it */
  updated_by: string;
  updated_at: CreatedAt;
}

export interface JoinTables {
  event_join_codes: EventJoinCodesTable;
}
