import { randomUUID } from 'node:crypto';
import { topicName, type AlertMessage, type CapacityMessage, type ZoneOccupancy } from '@opshub/schema';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import type { Bus } from '../../bus/bus.ts';
import type { CommandHandler } from '../../commands/command-router.ts';
import { ClientError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { GateReplica } from '../../replicas/gate-replica.ts';
import type { ReplicaHost } from '../../replicas/replica-host.ts';
import { ackAlert, insertAlert, openAlertsOfKind, restateAlert, withdrawAlert } from '../../store/repos/alerts-repo.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import { disarmThreshold, rearmThreshold, setZoneAdjustment, thresholdStates, zoneAdjustments } from '../../store/repos/capacity-repo.ts';
import type { Store } from '../../store/store.ts';
import { CapacityAlertDetail, capacityAlertTitle, restatedDetail } from './capacity-alert-figures.ts';
import { step, thresholds, type Armed } from './threshold-rules.ts';
import { zoneOccupancy } from './zone-occupancy.ts';

/**
 * Capacity: occupancy per zone (derived from the scans, plus staff corrections) published coalesced on
 * `event/{e}/capacity`, and one alert per threshold crossing (80/90/100 %, escalations at 110/125 %, with
 * hysteresis) on `event/{e}/alerts`. The armed state of each threshold lives in the Store and is flipped atomically,
 * so two hubs evaluating the same crossing raise one alert between them. An open capacity alert is restated (same
 * id, current figure in its title and detail) at most every `restateMs` while the zone's figure moves, and resolved
 * when its threshold re-arms (the zone fell back below it). Also the control room's `alert.ack` and
 * `capacity.correct` commands.
 */
export function capacityStream(
  deps: {
    store: Store;
    bus: Bus;
    replicas: ReplicaHost;
    log: Logger;
    /** after each published occupancy (e.g. session overflow); must not throw, is not awaited by the stream's next look */
    onEvaluated?: (event: string, zones: readonly ZoneOccupancy[]) => void;
  },
  options = { everyMs: 200, restateMs: 1000 },
) {
  const { store, bus, replicas, log } = deps;
  const timers = new Map<string, NodeJS.Timeout>();
  /** evaluations run one at a time per event, so threshold reads and flips do not interleave within a hub */
  const running = new Map<string, Promise<void>>();
  /** per event: when open alerts were last restated, the figure each zone had then, and a deferred restatement */
  const restated = new Map<string, { at: number; inside: Map<string, number>; timer?: NodeJS.Timeout }>();

  /** Occupancy with corrections applied. */
  async function occupancy(replica: GateReplica): Promise<ZoneOccupancy[]> {
    const adjustments = await zoneAdjustments(store.db, replica.event);
    return replica.occupancy().map((zone) => zoneOccupancy({ id: zone.zone, name: zone.name, capacity: zone.capacity }, Math.max(0, zone.inside + (adjustments.get(zone.zone) ?? 0))));
  }

  async function evaluate(replica: GateReplica): Promise<void> {
    const zones = await occupancy(replica);
    const message: CapacityMessage = { at: Date.now(), zones };
    await bus.publish(topicName({ kind: 'capacity', event: replica.event }), message);
    deps.onEvaluated?.(replica.event, zones);
    const states = await thresholdStates(store.db, replica.event);
    for (const zone of zones) {
      const armed = Object.fromEntries(thresholds.map((t) => [t.percent, states.get(`${zone.zone}/${t.percent}`) ?? true])) as Armed;
      const { crossed, rearmed } = step(armed, zone.ratio);
      for (const threshold of rearmed) await rearmThreshold(store.db, replica.event, zone.zone, threshold.percent);
      if (rearmed.length > 0) await resolveRearmed(replica.event, zone, new Set(rearmed.map((t) => t.percent)));
      for (const threshold of crossed) {
        const alert: AlertMessage = {
          id: `cap:${zone.zone}:${threshold.percent}:${randomUUID()}`,
          kind: 'capacity',
          severity: threshold.severity,
          at: message.at,
          title: capacityAlertTitle(zone, threshold.percent),
          detail: { zone: zone.zone, threshold: threshold.percent, inside: zone.inside, capacity: zone.capacity },
        };
        await store.db.transaction().execute(async (trx) => {
          if (!(await disarmThreshold(trx, replica.event, zone.zone, threshold.percent))) return; // another hub raised it
          await insertAlert(trx, replica.event, alert);
          await bus.publish(topicName({ kind: 'alerts', event: replica.event }), alert);
          await recordAnalytics(trx, { ts: alert.at, event: replica.event, kind: 'alert.capacity', zone: zone.zone, properties: { threshold: threshold.percent, inside: zone.inside } });
        });
      }
    }
    await restate(replica, zones);
  }

  /** Open alerts of `zone` whose threshold re-armed: the condition is over, so they leave the open alerts. */
  async function resolveRearmed(event: string, zone: ZoneOccupancy, percents: Set<number>): Promise<void> {
    for (const alert of await openAlertsOfKind(store.db, event, 'capacity')) {
      const detail = CapacityAlertDetail.safeParse(alert.detail);
      if (!detail.success || detail.data.zone !== zone.zone || !percents.has(detail.data.threshold)) continue;
      if (!(await withdrawAlert(store.db, alert.id))) continue; // another hub resolved it
      const now = Date.now();
      const resolved = { ...alert, title: capacityAlertTitle(zone, detail.data.threshold), detail: restatedDetail(detail.data, zone, now) ?? detail.data, resolved: { at: now } };
      await bus.publish(topicName({ kind: 'alerts', event }), resolved);
    }
  }

  /**
   * Keeps every open capacity alert's figure current: restated when a zone's figure moved, at most every
   * `restateMs` per event (a deferred pass makes sure the last figure is always told).
   */
  async function restate(replica: GateReplica, zones: ZoneOccupancy[]): Promise<void> {
    const event = replica.event;
    let state = restated.get(event);
    if (!state) restated.set(event, (state = { at: 0, inside: new Map() }));
    const moved = zones.filter((z) => state.inside.get(z.zone) !== z.inside);
    if (moved.length === 0) return;
    const wait = state.at + options.restateMs - Date.now();
    if (wait > 0) {
      state.timer ??= setTimeout(() => {
        state.timer = undefined;
        changed(replica);
      }, wait);
      state.timer.unref();
      return;
    }
    state.at = Date.now();
    for (const zone of moved) state.inside.set(zone.zone, zone.inside);
    const byZone = new Map(moved.map((z) => [z.zone, z]));
    for (const alert of await openAlertsOfKind(store.db, event, 'capacity')) {
      const detail = CapacityAlertDetail.safeParse(alert.detail);
      const zone = detail.success ? byZone.get(detail.data.zone) : undefined;
      if (!detail.success || !zone) continue;
      const next = restatedDetail(detail.data, zone, state.at);
      if (!next) continue;
      const title = capacityAlertTitle(zone, detail.data.threshold);
      if (await restateAlert(store.db, alert.id, title, next)) await bus.publish(topicName({ kind: 'alerts', event }), { ...alert, title, detail: next });
    }
  }

  /** Occupancy of this replica changed: publish (coalesced) and check thresholds. */
  function changed(replica: GateReplica): void {
    if (timers.has(replica.event)) return;
    timers.set(
      replica.event,
      setTimeout(() => {
        timers.delete(replica.event);
        const previous = running.get(replica.event) ?? Promise.resolve();
        const next = previous
          .then(() => evaluate(replica))
          .catch((err: unknown) => log.warn({ err, event: replica.event }, 'capacity evaluation failed; the next change retries'));
        running.set(replica.event, next);
      }, options.everyMs),
    );
  }

  const correct: CommandHandler<'capacity.correct'> = async (args, { claims }) => {
    const replica = await replicas.acquire(args.event);
    try {
      const derived = replica.occupancy().find((z) => z.zone === args.zone);
      if (!derived) throw new ClientError('not_found', `zone "${args.zone}" is not a zone of event "${args.event}"`);
      const before = (await zoneAdjustments(store.db, args.event)).get(args.zone) ?? 0;
      const delta = args.inside - derived.inside;
      await store.db.transaction().execute(async (trx) => {
        await setZoneAdjustment(trx, args.event, args.zone, delta);
        await appendAudit(trx, {
          actor: claims.sub,
          role: claims.role,
          action: 'capacity.correct',
          event: args.event,
          target: args.zone,
          before: { inside: derived.inside + before, delta: before },
          after: { inside: args.inside, delta, reason: args.reason },
        });
      });
      await evaluate(replica);
      return { zone: args.zone, inside: args.inside, delta };
    } finally {
      replicas.release(args.event);
    }
  };

  const ack: CommandHandler<'alert.ack'> = async (args, { claims }) => {
    return store.db.transaction().execute(async (trx) => {
      const acked = await ackAlert(trx, args.event, args.id, claims.sub);
      if (!acked) throw new ClientError('not_found', `alert "${args.id}" not found`);
      if (acked.already) return { id: args.id, ack: acked.alert.ack!, already: true };
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'alert.ack', event: args.event, target: args.id, after: acked.alert.ack });
      await bus.publish(topicName({ kind: 'alerts', event: args.event }), acked.alert);
      return { id: args.id, ack: acked.alert.ack!, already: false };
    });
  };

  /** The event's rooms' occupancy now, with corrections (loads the event's replica for the look if needed). */
  async function zonesOf(event: string): Promise<ZoneOccupancy[]> {
    const replica = await replicas.acquire(event);
    try {
      return await occupancy(replica);
    } finally {
      replicas.release(event);
    }
  }

  return {
    changed,
    zonesOf,
    commands: { 'capacity.correct': correct, 'alert.ack': ack },
    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      for (const state of restated.values()) clearTimeout(state.timer);
      restated.clear();
    },
  };
}
