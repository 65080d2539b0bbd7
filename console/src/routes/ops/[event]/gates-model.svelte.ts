import { GateMessage, topicName } from '@opshub/schema';
import type { EventDetails } from '$lib/api/event-details.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';
import type { DirectiveStates } from './directive-states.svelte.ts';

export interface GatePresence {
  readonly gate: string;
  /** undefined: no presence heard yet (the gate may never have connected to this hub) */
  readonly online: boolean | undefined;
  readonly devices: number;
  readonly devicesOnline: number;
  readonly pending: number;
  readonly lastSync: number | undefined;
  readonly lastScan: number | undefined;
  /** hub time of the latest presence message */
  readonly at: number | undefined;
}

/**
 * Gate presence from `event/{e}/gates`: one message per device when it connects, changes or drops. There is no REST
 * state for presence, so the subscription starts with the retained history (gates re-announce themselves within
 * the replay window); a gate is online while any of its devices is.
 */
export class GatesModel implements TopicSink {
  byGate: Record<string, GatePresence> = $state.raw({});
  error: string | undefined = $state();
  readonly #devices = new Map<string, GateMessage>();
  #subscription: Subscription | undefined;

  constructor(private readonly deps: { event: EventDetails; live: LiveSocket; directives?: DirectiveStates }) {}

  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'gates', event: this.deps.event.id }), this, 'history');
    return () => this.#subscription?.close();
  }

  messages(batch: readonly LiveMessage[]): void {
    for (const { data } of batch) {
      // The topic also carries gate_state messages (a lever pulled): those belong to the directives.
      if (this.deps.directives?.take(data)) continue;
      const parsed = GateMessage.safeParse(data);
      if (!parsed.success) continue;
      const key = `${parsed.data.gate}/${parsed.data.device}`;
      const previous = this.#devices.get(key);
      if (!previous || previous.at <= parsed.data.at) this.#devices.set(key, parsed.data);
    }
    this.#publish();
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  #publish(): void {
    const groups = new Map<string, GateMessage[]>();
    for (const m of this.#devices.values()) groups.set(m.gate, [...(groups.get(m.gate) ?? []), m]);
    const byGate: Record<string, GatePresence> = {};
    for (const [gate, devices] of groups) {
      const online = devices.filter((d) => d.online);
      const max = (pick: (d: GateMessage) => number | undefined) =>
        devices.reduce<number | undefined>((best, d) => {
          const v = pick(d);
          return v !== undefined && (best === undefined || v > best) ? v : best;
        }, undefined);
      byGate[gate] = {
        gate,
        online: online.length > 0,
        devices: devices.length,
        devicesOnline: online.length,
        pending: devices.reduce((n, d) => n + d.pending, 0),
        lastSync: max((d) => d.lastSync),
        lastScan: max((d) => d.lastScan),
        at: max((d) => d.at),
      };
    }
    this.byGate = byGate;
  }
}
