import type { SqlMigration } from './sql-migration.ts';

/**
 * What the hub no longer takes on trust (issue #11):
 *
 * - `scans_set_aside`: scans the hub will not derive a check-in from, kept with the reason: a record the Store refused
 *   (`poison`), an admission the hub cannot reproduce (`disputed`: an unknown or revoked code "admitted"), a scan of a
 *   gate the event does not have (`unknown_gate`). A loading replica skips them as it skips recorded check-ins, so
 *   none is retried forever, and each is alerted once. `record` is the scan as JSON text, not jsonb: a record the
 *   Store refused may hold what jsonb cannot (a NUL escape).
 * - `tickets.revoked_at`: when a ticket was revoked, so "admitted after its revocation" is decided the same way on
 *   every hub and after every restart (an attendee admitted before a refund is still inside).
 * - `token_revocations`: tokens ended before their `exp`, by `jti` (one token) or `sub` (every token issued to that
 *   subject up to `revoked_at`; tokens minted later are valid).
 * - alert kinds for the above; `gate_stalled` (named in the contract) is allowed already.
 */
export const trust: SqlMigration = {
  up: [
    `create table scans_set_aside (
      scan_id text primary key,
      event_id text not null references events (id) on delete cascade,
      kind text not null check (kind in ('poison', 'disputed', 'unknown_gate')),
      gate_id text not null,
      record text not null,
      reason text not null,
      created_at timestamptz not null default now()
    )`,
    `create index scans_set_aside_event_idx on scans_set_aside (event_id)`,
    `alter table tickets add column revoked_at timestamptz`,
    `update tickets set revoked_at = updated_at where status = 'revoked'`,
    `create table token_revocations (
      kind text not null check (kind in ('jti', 'sub')),
      value text not null,
      revoked_at timestamptz not null default now(),
      revoked_by text not null,
      reason text not null default '',
      primary key (kind, value)
    )`,
    `alter table alerts drop constraint alerts_kind_check`,
    `alter table alerts add constraint alerts_kind_check check (kind in ('capacity', 'duplicate_admission', 'gate_offline', 'gate_stalled', 'scan_set_aside', 'disputed_admission', 'forged_scan'))`,
  ],
  down: [
    `alter table alerts drop constraint alerts_kind_check`,
    `alter table alerts add constraint alerts_kind_check check (kind in ('capacity', 'duplicate_admission', 'gate_offline'))`,
    'drop table token_revocations',
    'alter table tickets drop column revoked_at',
    'drop table scans_set_aside',
  ],
};
