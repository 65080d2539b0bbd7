import { PushDeliveryList, PushDeliveryMessage, topicName, type PushDelivery } from '@opshub/schema';
import { getJson } from '$lib/api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';
import { isDone, mergeDelivery } from '$lib/push/delivery-figures.ts';

/**
 * Web push delivery figures per announcement (and per piece of session news or answered question), live: the REST
 * list (`/push/deliveries`) plus `event/{e}/push`. Every count only grows, so a message and a refetch are merged by
 * taking the larger of each: whatever order they arrive in, the figures never go backwards.
 */
export class PushDeliveriesModel implements TopicSink {
  /** newest first */
  items: PushDelivery[] = $state.raw([]);
  /** devices subscribed to the event's pushes, as of the last refetch */
  subscriptions: number | undefined = $state();
  error: string | undefined = $state();
  loaded = $state(false);
  readonly #byId = new Map<string, PushDelivery>();
  #subscription: Subscription | undefined;
  #refetching: Promise<void> | undefined;

  constructor(private readonly deps: { event: string; token: string; live: LiveSocket; fetch?: typeof fetch; limit?: number }) {}

  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'push', event: this.deps.event }), this, { last: 50 });
    return () => this.#subscription?.close();
  }

  messages(batch: readonly LiveMessage[]): void {
    const fresh: PushDelivery[] = [];
    let finished = false;
    for (const message of batch) {
      const parsed = PushDeliveryMessage.safeParse(message.data);
      if (!parsed.success) continue;
      const before = this.#byId.get(parsed.data.delivery.id);
      finished ||= isDone(parsed.data.delivery) && !(before && isDone(before));
      fresh.push(parsed.data.delivery);
    }
    this.#merge(fresh);
    // A push that has gone out changes how many devices there are (those that answered 404/410 were removed).
    if (finished && this.loaded) void this.refresh();
  }

  live(): void {
    if (!this.loaded) void this.refresh();
  }

  reset(): void {
    void this.refresh();
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  refresh(): Promise<void> {
    this.#refetching ??= (async () => {
      try {
        const list = await getJson(
          this.deps.fetch ?? fetch,
          `/api/v1/events/${encodeURIComponent(this.deps.event)}/push/deliveries?limit=${this.deps.limit ?? 20}`,
          this.deps.token,
          PushDeliveryList,
        );
        this.subscriptions = list.subscriptions;
        this.#merge(list.deliveries);
        this.loaded = true;
        this.error = undefined;
      } catch (error) {
        this.error = error instanceof Error ? error.message : String(error);
      } finally {
        this.#refetching = undefined;
      }
    })();
    return this.#refetching;
  }

  #merge(list: readonly PushDelivery[]): void {
    if (list.length === 0) return;
    for (const d of list) this.#byId.set(d.id, mergeDelivery(this.#byId.get(d.id), d));
    this.items = [...this.#byId.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }
}
