import { readScans, type DuplicateAdmission, type ScanRecord } from '@opshub/replica';
import { topicName, type AlertMessage, type CheckinMessage } from '@opshub/schema';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import type { Bus } from '../../bus/bus.ts';
import type { Logger } from '../../log.ts';
import type { GateReplica } from '../../replicas/gate-replica.ts';
import type { ReplicaListener } from '../../replicas/replica-host.ts';
import { insertAlert, withdrawAlert } from '../../store/repos/alerts-repo.ts';
import { codesAdmittedBefore, insertCheckins, lockCheckinsShared, markDuplicates, recordedScanIds, type CheckinInput } from '../../store/repos/checkins-repo.ts';
import { setAsideScanIds } from '../../store/repos/set-aside-repo.ts';
import { isRecordError } from '../../store/errors.ts';
import type { Store } from '../../store/store.ts';
import { disputeScans } from './dispute-scans.ts';
import { isolateRecords } from './isolate-records.ts';
import { setAsideAlerts } from './set-aside-alerts.ts';

/** Work for one replica: new scans and the duplicate admissions they revealed or withdrew. */
export interface Work {
  scans: ScanRecord[];
  added: DuplicateAdmission[];
  removed: DuplicateAdmission[];
  /** set for the pass after loading: skip scans the Store already has */
  reconcile?: boolean;
}

/** At most this many scans go into one Store transaction. */
const MAX_BATCH_SCANS = 2000;

/**
 * The work at the head of the queue, merged with the works behind it into one transaction: a gate coming back
 * online, or ten gates scanning at once, queue one work per Yjs transaction, and a transaction per scan would keep
 * the Store (and, on PGlite, this thread) busy for seconds. Merging stops before a work that withdraws duplicate
 * alerts, or follows one that does, so alerts are raised and withdrawn in the order the timeline reported them.
 */
export function nextBatch(queue: readonly Work[]): { work: Work; taken: number } {
  const head = queue[0]!;
  if (head.reconcile || head.removed.length > 0) return { work: head, taken: 1 };
  const merged: Work = { scans: [...head.scans], added: [...head.added], removed: [] };
  let taken = 1;
  for (; taken < queue.length; taken++) {
    const next = queue[taken]!;
    if (next.reconcile || next.removed.length > 0 || merged.scans.length + next.scans.length > MAX_BATCH_SCANS) break;
    merged.scans.push(...next.scans);
    merged.added.push(...next.added);
  }
  return { work: merged, taken };
}

interface Lane {
  queue: Work[];
  running: boolean;
}

export interface CheckinsStreamOptions {
  readonly retryMs: number;
}

/**
 * Check-ins: every new scan, by whatever path it reached this hub (its gate, a peer agent's sync, another hub,
 * the Store after a restart), becomes exactly one check-in row, one message on `event/{e}/checkins`, one capacity
 * change (handed to the capacity stream) and one analytics event; a duplicate admission raises exactly one alert on `event/{e}/alerts`.
 *
 * "Exactly once" across hub processes rests on the Store: the row (or alert) insert is idempotent on its id, and only
 * the process whose insert landed publishes, inside the same transaction, so a bus failure rolls the row back and the
 * scan is retried rather than recorded silently.
 */
export function checkinsStream(
  deps: { store: Store; bus: Bus; log: Logger; onOccupancyChange: (replica: GateReplica) => void },
  options: CheckinsStreamOptions = { retryMs: 1000 },
) {
  const { store, bus, log } = deps;
  const lanes = new Map<string, Lane>();
  const setAside = setAsideAlerts({ store, bus, log });
  let closed = false;

  const laneOf = (replica: GateReplica): Lane => {
    let lane = lanes.get(replica.event);
    if (!lane) lanes.set(replica.event, (lane = { queue: [], running: false }));
    return lane;
  };

  const enqueue = (replica: GateReplica, work: Work) => {
    if (work.scans.length === 0 && work.added.length === 0 && work.removed.length === 0 && !work.reconcile) return;
    const lane = laneOf(replica);
    lane.queue.push(work);
    void drain(replica, lane);
  };

  async function drain(replica: GateReplica, lane: Lane): Promise<void> {
    if (lane.running) return;
    lane.running = true;
    try {
      while (lane.queue.length > 0 && !closed) {
        const { work, taken } = nextBatch(lane.queue);
        try {
          await deriveIsolating(replica, work);
          lane.queue.splice(0, taken);
        } catch (err) {
          log.warn({ err, event: replica.event }, 'deriving check-ins failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, options.retryMs).unref());
        }
      }
    } finally {
      lane.running = false;
    }
  }

  /**
   * Derives one work; when the Store refuses a record, the scans are split until it is found and set aside (stored,
   * alerted once, skipped from then on), and the rest is derived: no single record stops an event's counting.
   */
  async function deriveIsolating(replica: GateReplica, whole: Work): Promise<void> {
    const read = whole.reconcile ? await unrecordedScans(replica) : whole.scans;
    // What the hub cannot reproduce is set aside (once, with an alert naming the gate), never counted.
    const { countable: scans, disputed } = await disputeScans(store.db, replica, read);
    for (const { scan, kind, reason } of disputed) await setAside.setAside(replica, scan, kind, reason);
    const disputedIds = new Set(disputed.map((d) => d.scan.scanId));
    const work: Work = disputedIds.size === 0 ? whole : { ...whole, added: whole.added.filter((d) => !disputedIds.has(d.first.scanId) && !disputedIds.has(d.second.scanId)) };
    try {
      return await derive(replica, { ...work, scans });
    } catch (error) {
      if (!isRecordError(error) || scans.length === 0) throw error;
      log.warn({ err: error, event: replica.event, scans: scans.length }, 'the Store refused a scan; isolating it');
    }
    const ofPart = (part: readonly ScanRecord[]) => {
      const ids = new Set(part.map((s) => s.scanId));
      return work.added.filter((d) => ids.has(d.second.scanId));
    };
    await isolateRecords(scans, (part) => derive(replica, { scans: [...part], added: ofPart(part), removed: [] }), (scan, error) => setAside.poison(replica, scan, error), isRecordError);
    const ids = new Set(scans.map((s) => s.scanId));
    const rest: Work = { scans: [], added: work.added.filter((d) => !ids.has(d.second.scanId)), removed: work.removed };
    if (rest.added.length === 0 && rest.removed.length === 0) return;
    try {
      await derive(replica, rest);
    } catch (error) {
      if (!isRecordError(error)) throw error;
      log.error({ err: error, event: replica.event }, 'the Store refused duplicate-admission alerts; they are dropped');
    }
  }

  /** The doc's scans that are neither recorded as check-ins nor set aside (the pass after a replica loads). */
  async function unrecordedScans(replica: GateReplica): Promise<ScanRecord[]> {
    const [recorded, aside] = await Promise.all([recordedScanIds(store.db, replica.event), setAsideScanIds(store.db, replica.event)]);
    return readScans(replica.doc).filter((s) => !recorded.has(s.scanId) && !aside.has(s.scanId) && !setAside.skipped.has(s.scanId));
  }

  async function derive(replica: GateReplica, work: Work): Promise<void> {
    const { event } = replica;
    const scans = work.scans;
    const rows: CheckinInput[] = scans.map((s) => ({ ...s, event, zone: replica.zoneOfGate(s.gate) })).sort(byTimeline);
    const duplicateSeconds = new Set(work.added.map((d) => d.second.scanId));
    const published = await store.db.transaction().execute(async (trx) => {
      await lockCheckinsShared(trx, event);
      const inserted = await insertCheckins(trx, rows.map((r) => ({ ...r, duplicate: duplicateSeconds.has(r.scanId) })));
      const raised: AlertMessage[] = [];
      // A duplicate whose second admission was published before (it synced before the earlier one: it looked like a
      // first entry then) gets a correction on the check-ins topic, once across hubs: with the alert that only one
      // hub's insert lands. Same for a duplicate a late exit withdrew.
      const corrections: CheckinMessage[] = [];
      for (const duplicate of work.added) {
        const alert = duplicateAlert(replica, duplicate);
        if (!(await insertAlert(trx, event, alert))) continue;
        raised.push(alert);
        if (!inserted.has(duplicate.second.scanId)) corrections.push(correction(replica, duplicate, true));
      }
      await markDuplicates(trx, [...duplicateSeconds], true);
      const withdrawn: AlertMessage[] = [];
      for (const duplicate of work.removed) {
        const alert = duplicateAlert(replica, duplicate);
        if (!(await withdrawAlert(trx, alert.id))) continue;
        withdrawn.push({ ...alert, withdrawn: { at: Date.now(), reason: 'a later-synced scan shows the attendee left in between' } });
        corrections.push(correction(replica, duplicate, false));
      }
      await markDuplicates(trx, work.removed.map((d) => d.second.scanId), false);
      const fresh = rows.filter((r) => inserted.has(r.scanId));
      // Which fresh admissions are their ticket's first: the control room adds exactly these to "checked in", so a
      // re-entry, or a ticket whose earlier scans it never saw (a hub restart, a long disconnection), never counts twice.
      const admissions = fresh.filter((r) => r.dir === 'in' && r.verdict === 'admitted');
      const before = await codesAdmittedBefore(trx, event, admissions.map((r) => r.code), new Set(admissions.map((r) => r.scanId)));
      const firsts = new Set<string>();
      for (const r of admissions) {
        if (before.has(r.code)) continue;
        before.add(r.code);
        firsts.add(r.scanId);
      }
      await recordAnalytics(
        trx,
        fresh.map((row) => ({
          ts: row.at,
          event,
          kind: row.dir === 'out' ? `scan.out.${row.verdict}` : `scan.in.${row.verdict}`,
          actor: row.device,
          zone: row.zone,
          ticket: row.code,
          properties: { gate: row.gate, scanId: row.scanId, duplicate: duplicateSeconds.has(row.scanId) },
        })),
      );
      const checkinsTopic = topicName({ kind: 'checkins', event });
      const alertsTopic = topicName({ kind: 'alerts', event });
      // Issued together so the bus pipelines them; seq order follows call order.
      await Promise.all([
        ...fresh.map((row) => bus.publish(checkinsTopic, checkinMessage(replica, row, duplicateSeconds.has(row.scanId), firsts.has(row.scanId)))),
        ...corrections.map((message) => bus.publish(checkinsTopic, message)),
        ...[...raised, ...withdrawn].map((alert) => bus.publish(alertsTopic, alert)),
      ]);
      return fresh;
    });
    if (published.length > 0) deps.onOccupancyChange(replica);
  }


  const listener: ReplicaListener = {
    loaded(replica, change) {
      enqueue(replica, { scans: [], added: change.duplicatesAdded, removed: [], reconcile: true });
    },
    scans(replica, batch, change) {
      if (batch.invalid.length > 0) log.warn({ event: replica.event, invalid: batch.invalid.length }, 'scan records that break the schema were ignored');
      enqueue(replica, { scans: batch.entries.map((e) => e.scan), added: change.duplicatesAdded, removed: change.duplicatesRemoved });
    },
  };

  return {
    listener,
    /** true when no work is waiting (tests and shutdown) */
    idle: () => [...lanes.values()].every((l) => l.queue.length === 0 && !l.running),
    close() {
      closed = true;
    },
  };
}

function byTimeline(a: { at: number; scanId: string }, b: { at: number; scanId: string }): number {
  return a.at - b.at || (a.scanId < b.scanId ? -1 : a.scanId > b.scanId ? 1 : 0);
}

/**
 * The check-ins message restating a duplicate's second admission with its corrected flag (`correction: true`): a
 * consumer updates the scan it already has rather than counting a new one.
 */
function correction(replica: GateReplica, duplicate: DuplicateAdmission, flagged: boolean): CheckinMessage {
  const { second } = duplicate;
  const row: CheckinInput = {
    scanId: second.scanId,
    event: replica.event,
    code: duplicate.code,
    gate: second.gate,
    zone: second.zone ?? replica.zoneOfGate(second.gate),
    device: second.device,
    dir: 'in',
    at: second.at,
    verdict: 'admitted',
  };
  // A restatement is never a new check-in: the scan it restates was counted (or not) when it was first published.
  return { ...checkinMessage(replica, row, flagged, false), correction: true };
}

function checkinMessage(replica: GateReplica, row: CheckinInput, duplicate: boolean, first: boolean): CheckinMessage {
  const ticket = replica.doc.getMap<{ holder?: string; type?: string }>('tickets').get(row.code);
  return {
    scanId: row.scanId,
    code: row.code,
    gate: row.gate,
    zone: row.zone,
    device: row.device,
    dir: row.dir,
    at: row.at,
    verdict: row.verdict,
    ...(ticket?.holder ? { holder: ticket.holder } : {}),
    ...(ticket?.type ? { type: ticket.type } : {}),
    duplicate,
    first,
    ...(row.override ? { override: true } : {}),
  };
}

/** One alert per duplicate admission; its id is the timeline's stable duplicate id, so every hub agrees on it. */
function duplicateAlert(replica: GateReplica, d: DuplicateAdmission): AlertMessage {
  const holder = replica.doc.getMap<{ holder?: string }>('tickets').get(d.code)?.holder;
  return {
    id: `dup:${d.id}`,
    kind: 'duplicate_admission',
    severity: 'warning',
    at: d.second.at,
    title: `Ticket ${d.code}${holder ? ` (${holder})` : ''} admitted twice: ${d.first.gate} and ${d.second.gate}`,
    detail: { code: d.code, first: d.first, second: d.second },
  };
}
