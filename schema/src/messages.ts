import { z } from 'zod';
import { Id } from './claims.ts';

/**
 * The `data` of `msg` frames on the gate and control-room topics. Producers build these; the console and tests
 * parse them. After a `reset`, clients refetch state over REST and continue with live messages.
 */

export const ScanDir = z.enum(['in', 'out']);
export const Verdict = z.enum(['admitted', 'already_in', 'invalid', 'revoked', 'wrong_zone', 'zone_full', 'gate_closed']);

/** `event/{e}/checkins`: one per scan, exactly once, whichever path the scan came by. */
export const CheckinMessage = z.object({
  scanId: z.string(),
  code: z.string(),
  gate: Id,
  zone: z.string(),
  device: z.string(),
  dir: ScanDir,
  /** when the gate scanned, ms since the epoch */
  at: z.number(),
  verdict: Verdict,
  holder: z.string().optional(),
  type: z.string().optional(),
  /** true when this admission is a duplicate (a second `in` without an `out`, from another device) */
  duplicate: z.boolean(),
  /**
   * true when this is the ticket's first admitted `in`: the summary's `checkedIn` (tickets admitted at least once)
   * grows by exactly the messages that say so, whatever a client has or has not seen before (a re-entry after an exit,
   * or any scan older than the replay window, is not a new check-in). Absent from older hubs.
   */
  first: z.boolean().optional(),
  /** true when gate staff admitted past a `zone_full` or `gate_closed` on purpose (issue 12) */
  override: z.boolean().optional(),
  /**
   * true on a message that restates an earlier one's scan (same `scanId`) with a corrected `duplicate` flag: the
   * later admission synced first and looked like a first entry, or a late exit showed it was none. Update the scan
   * you have; do not count it again.
   */
  correction: z.boolean().optional(),
});
export type CheckinMessage = z.infer<typeof CheckinMessage>;

export const ThresholdLevel = z.enum(['ok', '80', '90', '100']);

export const ZoneOccupancy = z.object({
  zone: Id,
  name: z.string(),
  capacity: z.number().int(),
  inside: z.number().int(),
  /** inside / capacity (0 when capacity is 0) */
  ratio: z.number(),
  level: ThresholdLevel,
});
export type ZoneOccupancy = z.infer<typeof ZoneOccupancy>;

/** `event/{e}/capacity`: the occupancy of every zone after a change (coalesced under load). */
export const CapacityMessage = z.object({ at: z.number(), zones: z.array(ZoneOccupancy) });
export type CapacityMessage = z.infer<typeof CapacityMessage>;

/** `event/{e}/gates`: a gate's presence and health, from the awareness of its agent. */
export const GateMessage = z.object({
  gate: Id,
  device: z.string(),
  online: z.boolean(),
  /** scans the agent holds that the hub has not confirmed */
  pending: z.number().int(),
  lastScan: z.number().optional(),
  lastSync: z.number().optional(),
  at: z.number(),
});
export type GateMessage = z.infer<typeof GateMessage>;

/**
 * `scan_set_aside`: a scan the Store refused, stored aside and skipped (never retried); `disputed_admission`: a gate
 * admitted a code the hub cannot (unknown, or revoked before the scan), not counted; `forged_scan`: a gate's socket
 * wrote scans of another gate without that gate's key, refused; `refunded_inside`: a ticket refunded (and so revoked)
 * while its holder is inside.
 */
export const AlertKind = z.enum(['capacity', 'duplicate_admission', 'gate_offline', 'gate_stalled', 'scan_set_aside', 'disputed_admission', 'forged_scan', 'refunded_inside']);
export const AlertSeverity = z.enum(['info', 'warning', 'critical']);

/** `event/{e}/alerts`: a new alert, or an acknowledgement of one (`ack` set). */
export const AlertMessage = z.object({
  id: z.string(),
  kind: AlertKind,
  severity: AlertSeverity,
  at: z.number(),
  title: z.string(),
  /** kind-specific facts: for `duplicate_admission` both gates and times; for `capacity` the zone and level */
  detail: z.record(z.string(), z.unknown()),
  ack: z.object({ by: z.string(), at: z.number() }).optional(),
  /** set when later facts showed the alert was not what it seemed (e.g. a late `out` scan between two admissions) */
  withdrawn: z.object({ at: z.number(), reason: z.string() }).optional(),
  /** set when the condition ended (a `gate_offline` gate came back): the alert leaves the open alerts */
  resolved: z.object({ at: z.number() }).optional(),
});
export type AlertMessage = z.infer<typeof AlertMessage>;
