import type { AlertMessage } from '@opshub/schema';

/** Raises and resolves one alert; both report failures themselves. */
export interface AlertSink {
  raise(event: string, alert: AlertMessage): Promise<boolean>;
  resolve(event: string, alert: AlertMessage): void;
}

interface Stall {
  /** when the device's pending count last made progress (went down) or became non-zero */
  since: number;
  /** the lowest pending count seen since then: only a count below it is progress */
  low: number;
  pending: number;
  timer?: NodeJS.Timeout;
  alert?: AlertMessage;
}

/**
 * `gate_stalled` (issue 12): an online gate device whose pending scans (what its agent holds that the hub has not
 * confirmed as stored) stay above zero without going down for `stalledAfterMs` (`GATE_STALLED_AFTER`) raises one
 * alert per stall; it is resolved when the count drains to zero or the device goes (then `gate_offline` takes over).
 * A count that rises is no progress: a gate scanning into a dead uplink must not look healthy because it is busy.
 * Per device, since one device of a gate can be stuck while its twin drains.
 * @example const stalls = gateStalls(sink, 60_000); stalls.report('expo', 'north', 'north-1', 12);
 */
export function gateStalls(sink: AlertSink, stalledAfterMs: number) {
  const stalls = new Map<string, Stall>();

  const arm = (event: string, gate: string, device: string, stall: Stall): void => {
    clearTimeout(stall.timer);
    stall.timer = setTimeout(() => {
      stall.timer = undefined;
      const alert: AlertMessage = {
        id: `gate_stalled:${gate}:${device}:${stall.since}`,
        kind: 'gate_stalled',
        severity: 'warning',
        at: Date.now(),
        title: `Gate ${gate} (${device}) stalled: ${stall.pending} scans not confirmed by the hub for ${Math.round((Date.now() - stall.since) / 1000)} s`,
        detail: { gate, device, pending: stall.pending, since: stall.since },
      };
      void sink.raise(event, alert).then((raised) => {
        if (raised && stalls.get(`${event}/${device}`) === stall) stall.alert = alert;
        else if (raised) sink.resolve(event, alert); // drained while the alert was being stored
      });
    }, stalledAfterMs);
    stall.timer.unref();
  };

  const end = (key: string, event: string): void => {
    const stall = stalls.get(key);
    if (!stall) return;
    stalls.delete(key);
    clearTimeout(stall.timer);
    if (stall.alert) sink.resolve(event, stall.alert);
  };

  return {
    /** The device reported `pending` scans in its presence. */
    report(event: string, gate: string, device: string, pending: number): void {
      const key = `${event}/${device}`;
      if (pending === 0) return end(key, event);
      const stall = stalls.get(key);
      if (!stall) {
        const fresh: Stall = { since: Date.now(), low: pending, pending };
        stalls.set(key, fresh);
        return arm(event, gate, device, fresh);
      }
      stall.pending = pending;
      if (pending >= stall.low) return;
      // Progress: the hub confirmed some. A stall already reported stays open until the count drains.
      stall.low = pending;
      if (stall.alert) return;
      stall.since = Date.now();
      arm(event, gate, device, stall);
    },
    /** The device went offline: not a stall any more. */
    gone(event: string, device: string): void {
      end(`${event}/${device}`, event);
    },
    close(): void {
      for (const stall of stalls.values()) clearTimeout(stall.timer);
      stalls.clear();
    },
  };
}
