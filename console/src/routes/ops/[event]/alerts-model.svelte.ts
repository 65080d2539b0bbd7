import { AlertMessage, topicName } from '@opshub/schema';
import { z } from 'zod';
import { getJson } from '$lib/api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';

/** The scan facts a `duplicate_admission` alert carries for each of its two admissions. */
const AdmissionFact = z.looseObject({ gate: z.string(), at: z.number(), device: z.string().optional(), scanId: z.string().optional() });
export const DuplicateDetail = z.looseObject({ code: z.string(), first: AdmissionFact, second: AdmissionFact });
export type DuplicateDetail = z.infer<typeof DuplicateDetail>;

export interface DuplicateAdmission {
  readonly alert: AlertMessage;
  readonly detail: DuplicateDetail;
}

/**
 * The alerts feed: `GET /api/v1/events/{e}/alerts` for what was raised before the page opened (and after a `reset`),
 * `event/{e}/alerts` for new alerts, acknowledgements and withdrawals. Each alert is kept once by id; an
 * acknowledgement or withdrawal, once seen, sticks, whichever order REST and the stream deliver them in.
 */
export class AlertsModel implements TopicSink {
  /** unacknowledged, newest first */
  open: AlertMessage[] = $state.raw([]);
  /** acknowledged, newest first */
  acknowledged: AlertMessage[] = $state.raw([]);
  duplicates: DuplicateAdmission[] = $state.raw([]);
  /** alert ids whose acknowledgement is on its way */
  acking: string[] = $state.raw([]);
  error: string | undefined = $state();
  readonly #byId = new Map<string, AlertMessage>();
  #loaded = false;
  #subscription: Subscription | undefined;

  constructor(private readonly deps: { event: string; token: string; live: LiveSocket; fetch?: typeof fetch }) {}

  start(): () => void {
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'alerts', event: this.deps.event }), this, 'live');
    return () => this.#subscription?.close();
  }

  messages(batch: readonly LiveMessage[]): void {
    for (const { data } of batch) {
      const parsed = AlertMessage.safeParse(data);
      if (parsed.success) this.#merge(parsed.data);
    }
    this.#publish();
  }

  live(): void {
    if (!this.#loaded) void this.refresh(false);
  }

  reset(): void {
    void this.refresh(true);
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  /** `afterGap`: alerts the list should contain but does not were withdrawn while we could not hear it. */
  async refresh(afterGap: boolean): Promise<void> {
    try {
      const list = await getJson(
        this.deps.fetch ?? fetch,
        `/api/v1/events/${encodeURIComponent(this.deps.event)}/alerts`,
        this.deps.token,
        z.array(AlertMessage),
      );
      this.#loaded = true;
      this.error = undefined;
      for (const alert of list) this.#merge(alert);
      if (afterGap && list.length > 0) {
        const listed = new Set(list.map((a) => a.id));
        const oldest = Math.min(...list.map((a) => a.at));
        for (const [id, alert] of this.#byId) {
          if (!listed.has(id) && alert.at >= oldest && !alert.withdrawn) this.#byId.set(id, { ...alert, withdrawn: { at: Date.now(), reason: 'withdrawn' } });
        }
      }
      this.#publish();
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  /**
   * Acknowledges an alert for every console: sends `alert.ack`; the alert leaves the open list when the hub's
   * acknowledgement comes back on the alerts topic (here and on every other console at once).
   */
  async acknowledge(id: string): Promise<void> {
    if (this.acking.includes(id)) return;
    this.acking = [...this.acking, id];
    try {
      await this.deps.live.command('alert.ack', { event: this.deps.event, id });
      this.error = undefined;
    } catch (error) {
      this.error = `Could not acknowledge: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      this.acking = this.acking.filter((a) => a !== id);
    }
  }

  #merge(alert: AlertMessage): void {
    const known = this.#byId.get(alert.id);
    this.#byId.set(
      alert.id,
      known ? { ...known, ...alert, ack: known.ack ?? alert.ack, withdrawn: known.withdrawn ?? alert.withdrawn } : alert,
    );
  }

  #publish(): void {
    // A resolved alert (a gate back online, a zone back below its threshold) has left the open alerts on every console.
    const all = [...this.#byId.values()].filter((a) => !a.withdrawn && !a.resolved).sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
    this.open = all.filter((a) => !a.ack);
    this.acknowledged = all.filter((a) => a.ack).slice(0, 50);
    this.duplicates = all.flatMap((alert) => {
      if (alert.kind !== 'duplicate_admission') return [];
      const detail = DuplicateDetail.safeParse(alert.detail);
      return detail.success ? [{ alert, detail: detail.data }] : [];
    });
  }
}
