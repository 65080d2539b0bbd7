import { topicName, type AlertMessage } from '@opshub/schema';
import type { Bus } from '../../bus/bus.ts';
import type { Logger } from '../../log.ts';
import { insertAlert, withdrawAlert } from '../../store/repos/alerts-repo.ts';
import type { Store } from '../../store/store.ts';
import { gateStalls } from './gate-stalls.ts';

/**
 * Gate health (issue 12): a gate whose presence has been gone for `offlineAfterMs` (`GATE_OFFLINE_AFTER`) raises one
 * `gate_offline` alert on `event/{e}/alerts` per outage; when the gate returns, the alert is published again with
 * `resolved` and leaves the open alerts. A gate counts as present while any of its devices is. The alert id names
 * the gate and the moment it went, so two hubs that saw the same outage raise it once between them. An online
 * device whose pending scans do not drain for `stalledAfterMs` raises `gate_stalled` (see gate-stalls.ts).
 */
export function gateHealth(deps: { store: Store; bus: Bus; log: Logger; offlineAfterMs: number; stalledAfterMs?: number }) {
  const { store, bus, log, offlineAfterMs } = deps;
  const alertsTopic = (event: string) => topicName({ kind: 'alerts', event });
  const stalls = gateStalls(
    {
      async raise(event, alert) {
        try {
          if (!(await insertAlert(store.db, event, alert))) return false;
          await bus.publish(alertsTopic(event), alert);
          return true;
        } catch (err) {
          log.warn({ err, event, alert: alert.id }, 'raising an alert failed');
          return false;
        }
      },
      resolve(event, alert) {
        void withdrawAlert(store.db, alert.id)
          .then((resolved) => {
            if (resolved) return bus.publish(alertsTopic(event), { ...alert, resolved: { at: Date.now() } });
          })
          .catch((err: unknown) => log.warn({ err, event, alert: alert.id }, 'resolving an alert failed'));
      },
    },
    deps.stalledAfterMs ?? 60_000,
  );
  /** `event/gate` → devices present */
  const present = new Map<string, Set<string>>();
  /** `event/gate` → the pending timer of an outage, or the alert raised for it */
  const outages = new Map<string, { timer?: NodeJS.Timeout; alert?: AlertMessage }>();

  async function raise(event: string, gate: string, since: number, lastSync: number | undefined): Promise<AlertMessage | undefined> {
    const alert: AlertMessage = {
      id: `gate_offline:${gate}:${since}`,
      kind: 'gate_offline',
      severity: 'critical',
      at: Date.now(),
      title: `Gate ${gate} offline for ${Math.round((Date.now() - since) / 1000)} s`,
      detail: { gate, since, ...(lastSync !== undefined ? { lastSync } : {}) },
    };
    if (!(await insertAlert(store.db, event, alert))) return undefined;
    await bus.publish(topicName({ kind: 'alerts', event }), alert);
    return alert;
  }

  return {
    /** A device of `gate` is present (its awareness arrived). */
    online(event: string, gate: string, device: string): void {
      const key = `${event}/${gate}`;
      let devices = present.get(key);
      if (!devices) present.set(key, (devices = new Set()));
      devices.add(device);
      const outage = outages.get(key);
      if (!outage) return;
      outages.delete(key);
      clearTimeout(outage.timer);
      const alert = outage.alert;
      if (!alert) return;
      void withdrawAlert(store.db, alert.id)
        .then((resolved) => {
          if (resolved) return bus.publish(topicName({ kind: 'alerts', event }), { ...alert, resolved: { at: Date.now() } });
        })
        .catch((err: unknown) => log.warn({ err, event, gate }, 'resolving gate_offline failed'));
    },
    /** A present device of `gate` reported how many scans the hub has not confirmed yet. */
    pending(event: string, gate: string, device: string, pending: number): void {
      stalls.report(event, gate, device, pending);
    },
    /** A device of `gate` went (its socket closed or its awareness was removed). */
    offline(event: string, gate: string, device: string, lastSync: number | undefined): void {
      stalls.gone(event, device);
      const key = `${event}/${gate}`;
      const devices = present.get(key);
      devices?.delete(device);
      if (devices && devices.size > 0) return;
      if (outages.has(key)) return;
      const since = Date.now();
      const outage: { timer?: NodeJS.Timeout; alert?: AlertMessage } = {};
      outage.timer = setTimeout(() => {
        outage.timer = undefined;
        raise(event, gate, since, lastSync).then(
          (alert) => {
            if (alert) outage.alert = alert;
          },
          (err: unknown) => log.warn({ err, event, gate }, 'raising gate_offline failed'),
        );
      }, offlineAfterMs);
      outage.timer.unref();
      outages.set(key, outage);
    },
    close(): void {
      stalls.close();
      for (const outage of outages.values()) clearTimeout(outage.timer);
      outages.clear();
    },
  };
}

export type GateHealth = ReturnType<typeof gateHealth>;
