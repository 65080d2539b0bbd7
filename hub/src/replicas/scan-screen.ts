import { verifyScanMac, type ScanRecord, type ScanRejection } from '@opshub/replica';

/**
 * How far a scan's `at` (the gate's clock) may lie from the hub's clock. A later `at` outranks every real scan in the
 * timeline (a scan dated next year keeps its attendee "inside" through every exit), and far enough ahead the Store
 * cannot hold it at all; an earlier one is harmless to the timeline but no gate of a live event holds one.
 */
export const scanTimeWindow = Object.freeze({
  /** clock skew allowed ahead of the hub (a laptop whose clock runs a day ahead is broken, not skewed) */
  futureMs: 24 * 60 * 60_000,
  /** how old a scan may be when it first reaches the hub (a gate offline for months is not at this event) */
  pastMs: 366 * 24 * 60 * 60_000,
});

/**
 * The hub's edge check of each new scan a socket writes, beyond the schema (which `checkGateUpdate` applies):
 * `at` within {@link scanTimeWindow} of the hub's clock. Used as `checkGateUpdate`'s `screen`.
 * @example checkGateUpdate(doc, update, { screen: (scan) => screenScan(scan, Date.now()) });
 */
export function screenScan(scan: ScanRecord, now: number): ScanRejection | undefined {
  if (scan.at > now + scanTimeWindow.futureMs) {
    return { reason: 'invalid_scan', message: `at ${new Date(scan.at).toISOString()} is more than a day ahead of the hub's clock` };
  }
  if (scan.at < now - scanTimeWindow.pastMs) {
    return { reason: 'invalid_scan', message: `at ${new Date(scan.at).toISOString()} is more than a year before the hub's clock` };
  }
  return undefined;
}

/**
 * Whether the writer of a scan may write it: a gate token writes scans of its own gate (its `gate` claim); a scan of
 * another gate is a relay (gates sync with each other on the venue mesh) and must carry that gate's MAC, which only
 * that gate can make (see `@opshub/replica/mesh-auth`). Anything else is a gate speaking for another: `forbidden`.
 * @example checkGateUpdate(doc, update, { screen: (scan) => screenWriter(scan, claims.gate, (g) => replica.scanKeyOf(g)) });
 */
export function screenWriter(scan: ScanRecord, writerGate: string | undefined, scanKeyOf: (gate: string) => string | undefined): ScanRejection | undefined {
  if (writerGate !== undefined && scan.gate === writerGate) return undefined;
  const key = scanKeyOf(scan.gate);
  if (key !== undefined && verifyScanMac(key, scan)) return undefined;
  return {
    reason: 'forbidden',
    message: `scan ${scan.scanId} names gate ${scan.gate}, but the token is ${writerGate ? `gate ${writerGate}'s` : 'of no gate'} and the scan carries no valid MAC of gate ${scan.gate}`,
  };
}
