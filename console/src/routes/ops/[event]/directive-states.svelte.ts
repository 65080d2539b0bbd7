import { Directives, GateDirectiveMessage, ZoneDirectiveMessage, type GateState, type ZoneState } from '@opshub/schema';
import { getJson } from '$lib/api/hub-api.ts';

/**
 * The control room's levers as the hub has them: each gate's state and each zone's door policy. First from
 * `GET /api/v1/events/{e}/directives`, then from the `gate_state` / `zone_state` messages the gates and capacity
 * models hand over as they arrive. The newest (by the hub's `at`) wins, so a REST answer read before a live change
 * never moves a lever back on screen.
 */
export class DirectiveStates {
  gates: Record<string, GateState> = $state.raw({});
  zones: Record<string, ZoneState> = $state.raw({});
  error: string | undefined = $state();

  constructor(private readonly deps: { event: string; token: string; fetch?: typeof fetch }) {}

  async load(): Promise<void> {
    try {
      const all = await getJson(this.deps.fetch ?? fetch, `/api/v1/events/${encodeURIComponent(this.deps.event)}/directives`, this.deps.token, Directives);
      this.error = undefined;
      for (const gate of all.gates) this.#gate(gate);
      for (const zone of all.zones) this.#zone(zone);
    } catch (error) {
      this.error = `Levers: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** A message of `event/{e}/gates` or `event/{e}/capacity`; true when it was a directive. */
  take(data: unknown): boolean {
    const gate = GateDirectiveMessage.safeParse(data);
    if (gate.success) return this.#gate(gate.data), true;
    const zone = ZoneDirectiveMessage.safeParse(data);
    if (zone.success) return this.#zone(zone.data), true;
    return false;
  }

  #gate(state: GateState): void {
    const known = this.gates[state.gate];
    if (known && known.at > state.at) return;
    this.gates = { ...this.gates, [state.gate]: { gate: state.gate, state: state.state, ...(state.message ? { message: state.message } : {}), by: state.by, at: state.at } };
  }

  #zone(state: ZoneState): void {
    const known = this.zones[state.zone];
    if (known && known.at > state.at) return;
    this.zones = { ...this.zones, [state.zone]: { zone: state.zone, full: state.full, redirect: state.redirect, enforce: state.enforce, by: state.by, at: state.at } };
  }
}
