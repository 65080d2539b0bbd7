import { GateMessage, topicName } from '@opshub/schema';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';

/**
 * Which laptops are online, per gate and device, from `event/{e}/gates` (presence: one message per device when it
 * connects, changes or drops; the retained history first, since presence has no REST state). A paired laptop shows
 * online here the moment its agent reaches the hub.
 */
export class DevicePresence implements TopicSink {
  /** `gate/device` → latest presence */
  byDevice: Record<string, GateMessage> = $state.raw({});
  #subscription: Subscription | undefined;

  constructor(private readonly deps: { event: string; live: LiveSocket }) {}

  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'gates', event: this.deps.event }), this, 'history');
    return () => this.#subscription?.close();
  }

  messages(batch: readonly LiveMessage[]): void {
    const next = { ...this.byDevice };
    for (const { data } of batch) {
      const parsed = GateMessage.safeParse(data);
      if (!parsed.success) continue;
      const key = `${parsed.data.gate}/${parsed.data.device}`;
      const previous = next[key];
      if (!previous || previous.at <= parsed.data.at) next[key] = parsed.data;
    }
    this.byDevice = next;
  }

  refused(): void {}

  /** Devices of a gate that are online now. */
  onlineAt(gate: string): GateMessage[] {
    return Object.values(this.byDevice).filter((d) => d.gate === gate && d.online);
  }

  isOnline(gate: string, device: string): boolean {
    return this.byDevice[`${gate}/${device}`]?.online === true;
  }
}
