import { CapacityMessage, topicName, type ZoneOccupancy } from '@opshub/schema';
import type { EventDetails } from '$lib/api/event-details.ts';
import { getJson } from '$lib/api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';
import type { DirectiveStates } from './directive-states.svelte.ts';

/** The 80/90/100 % level of a ratio, as the hub computes it. */
export function levelOf(ratio: number): ZoneOccupancy['level'] {
  return ratio >= 1 ? '100' : ratio >= 0.9 ? '90' : ratio >= 0.8 ? '80' : 'ok';
}

/**
 * Occupancy per zone from `event/{e}/capacity`. Every message carries every zone, so the newest one (by `at`) is
 * the state; `GET /api/v1/events/{e}/capacity` gives the same shape for the first paint and after a `reset`.
 */
export class ZonesModel implements TopicSink {
  zones: ZoneOccupancy[] = $state.raw([]);
  /** hub time of the state shown; 0 before any */
  at = $state(0);
  error: string | undefined = $state();
  readonly totalInside = $derived(this.zones.reduce((n, z) => n + z.inside, 0));
  #loaded = false;
  #subscription: Subscription | undefined;

  constructor(private readonly deps: { event: EventDetails; token: string; live: LiveSocket; fetch?: typeof fetch; directives?: DirectiveStates }) {
    this.zones = deps.event.zones.map((z) => ({ zone: z.id, name: z.name, capacity: z.capacity, inside: 0, ratio: 0, level: 'ok' }));
  }

  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'capacity', event: this.deps.event.id }), this, 'live');
    return () => this.#subscription?.close();
  }

  messages(batch: readonly LiveMessage[]): void {
    // zone_state messages (a lever pulled) ride the same topic: all of them, in order, go to the directives.
    for (const { data } of batch) this.deps.directives?.take(data);
    for (let i = batch.length - 1; i >= 0; i--) {
      const parsed = CapacityMessage.safeParse(batch[i]!.data);
      if (parsed.success) return this.#show(parsed.data);
    }
  }

  live(): void {
    if (!this.#loaded) void this.refresh();
  }

  reset(): void {
    void this.refresh();
    void this.deps.directives?.load();
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  async refresh(): Promise<void> {
    try {
      const state = await getJson(
        this.deps.fetch ?? fetch,
        `/api/v1/events/${encodeURIComponent(this.deps.event.id)}/capacity`,
        this.deps.token,
        CapacityMessage,
      );
      this.#loaded = true;
      this.error = undefined;
      this.#show(state);
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  #show(state: CapacityMessage): void {
    // A REST answer read before a newer live message must not move the figures back.
    if (state.at < this.at) return;
    this.at = state.at;
    const order = new Map(this.deps.event.zones.map((z, i) => [z.id, i]));
    this.zones = [...state.zones].sort((a, b) => (order.get(a.zone) ?? 1e9) - (order.get(b.zone) ?? 1e9));
  }
}
