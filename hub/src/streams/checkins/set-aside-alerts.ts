import type { ScanRecord } from '@opshub/replica';
import { topicName, type AlertMessage } from '@opshub/schema';
import type { SetAsideKind } from '@opshub/schema/db';
import type { Bus } from '../../bus/bus.ts';
import type { Logger } from '../../log.ts';
import type { GateReplica } from '../../replicas/gate-replica.ts';
import { insertAlert } from '../../store/repos/alerts-repo.ts';
import { isRecordError } from '../../store/errors.ts';
import { printable, setAsideScan } from '../../store/repos/set-aside-repo.ts';
import type { Store } from '../../store/store.ts';

/** Which alert each kind of set-aside raises. */
const alertOf: Record<SetAsideKind, { kind: AlertMessage['kind']; severity: AlertMessage['severity']; title: (scan: ScanRecord) => string }> = {
  poison: {
    kind: 'scan_set_aside',
    severity: 'warning',
    title: (scan) => `A scan from gate ${scan.gate} was set aside: the Store refused it`,
  },
  disputed: {
    kind: 'disputed_admission',
    severity: 'warning',
    title: (scan) => `Gate ${scan.gate} admitted ${printable(scan.code, 40)}, which the hub cannot admit: not counted, check the gate`,
  },
  unknown_gate: {
    kind: 'scan_set_aside',
    severity: 'warning',
    title: (scan) => `A scan names gate ${scan.gate}, which this event does not have: not counted`,
  },
};

/**
 * Sets scans aside (see `set-aside-repo.ts`) and alerts on each once, on `event/{e}/alerts`, in one transaction:
 * only the hub whose row landed publishes. When even that row is refused (what the gate wrote cannot be stored in
 * any form), the scan is skipped in this process, logged, and found again after a restart.
 */
export function setAsideAlerts(deps: { store: Store; bus: Bus; log: Logger }) {
  const { store, bus, log } = deps;
  /** scans whose set-aside row the Store refused too: skipped by this process */
  const skipped = new Set<string>();

  async function setAside(replica: GateReplica, scan: ScanRecord, kind: SetAsideKind, reason: string): Promise<void> {
    const { event } = replica;
    try {
      await store.db.transaction().execute(async (trx) => {
        const { scanId, ...record } = scan;
        if (!(await setAsideScan(trx, { scanId, event, kind, gate: scan.gate, record, reason }))) return;
        const spec = alertOf[kind];
        const alert: AlertMessage = {
          id: `set-aside:${scanId}`,
          kind: spec.kind,
          severity: spec.severity,
          at: Date.now(),
          title: spec.title(scan),
          detail: {
            reason: printable(reason, 300),
            scan: { scanId, code: printable(scan.code, 64), gate: scan.gate, device: scan.device, dir: scan.dir, at: scan.at, verdict: scan.verdict },
          },
        };
        if (await insertAlert(trx, event, alert)) await bus.publish(topicName({ kind: 'alerts', event }), alert);
      });
    } catch (error) {
      if (!isRecordError(error)) throw error;
      skipped.add(scan.scanId);
      log.error({ err: error, event, scanId: scan.scanId, kind }, 'a scan could not even be set aside; skipped by this process');
    }
  }

  return {
    skipped: skipped as ReadonlySet<string>,
    /** the Store refused the scan's check-in row */
    poison(replica: GateReplica, scan: ScanRecord, error: unknown): Promise<void> {
      log.error({ err: error, event: replica.event, scanId: scan.scanId, gate: scan.gate }, 'the Store refused a scan: set aside');
      return setAside(replica, scan, 'poison', `the Store refused it: ${error instanceof Error ? error.message : String(error)}`);
    },
    setAside,
  };
}
