import { Lead, LeadMessage, LeadPage, topicName } from '@opshub/schema';
import { getJson, problemText } from '$lib/api/hub-api.ts';
import { CommandError, type LiveMessage, type Subscription, type TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';
import { BoothStore, type PendingCapture } from './booth-store.ts';

/** What booth staff enter for one badge. */
export interface CaptureInput {
  code: string;
  rating?: number | undefined;
  notes?: string | undefined;
  tags?: string[] | undefined;
}

/** Hub answers that will not change on a resend: the capture is shown as refused instead of retried forever. */
const finalRefusals = new Set(['invalid', 'not_found', 'forbidden']);

/**
 * The booth app's state: the lead list (REST page + the booth's leads topic, cached on the device) and the captures
 * still on the phone. Offline first: a capture is written to IndexedDB before anything else, shown as pending, and sent
 * with `lead.capture` and its `clientId` while the phone is online and the socket live; a send whose answer is lost is
 * simply sent again later (the hub makes it one lead and one visit).
 */
export class BoothModel implements TopicSink {
  leads: Lead[] = $state.raw([]);
  pending: PendingCapture[] = $state.raw([]);
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  sending = $state(false);
  /** the list is the device's copy from this moment (ms), not the hub's answer */
  cachedAt: number | undefined = $state();
  error: string | undefined = $state();
  ready = $state(false);
  #store: BoothStore | undefined;
  #subscription: Subscription | undefined;

  constructor(private readonly deps: { event: string; exhibitor: string; token: string; live: LiveSocket; fetch?: typeof fetch }) {}

  /** Opens the device's storage, shows what it holds, then follows the hub. Returns the stop function. */
  start(): () => void {
    const onOnline = () => {
      this.online = true;
      this.deps.live.retryNow();
      void this.refresh();
      void this.flush();
    };
    const onOffline = () => (this.online = false);
    addEventListener('online', onOnline);
    addEventListener('offline', onOffline);
    void this.#open();
    return () => {
      removeEventListener('online', onOnline);
      removeEventListener('offline', onOffline);
      this.#subscription?.close();
      this.#store?.close();
    };
  }

  async #open(): Promise<void> {
    try {
      this.#store = await BoothStore.open();
      const { event, exhibitor } = this.deps;
      this.pending = await this.#store.pending(event, exhibitor);
      const cached = await this.#store.cachedLeads(event, exhibitor);
      if (cached && this.leads.length === 0) {
        this.leads = cached.leads;
        this.cachedAt = cached.savedAt;
      }
    } catch (error) {
      this.error = `This phone cannot keep captures while offline: ${problemText(error)}`;
    }
    this.ready = true;
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'leads', event: this.deps.event, exhibitor: this.deps.exhibitor }), this, 'live');
    void this.flush();
  }

  /**
   * Keeps a capture on the phone, then sends it when it can. Resolves once it is stored on the device.
   * @throws {Error} when the device could not store it (then nothing was captured)
   */
  async capture(input: CaptureInput): Promise<PendingCapture> {
    const capture: PendingCapture = {
      clientId: crypto.randomUUID(),
      event: this.deps.event,
      exhibitor: this.deps.exhibitor,
      code: input.code.trim(),
      rating: input.rating,
      notes: input.notes || undefined,
      // plain copies: IndexedDB cannot clone the page's reactive proxies
      tags: input.tags && input.tags.length > 0 ? [...input.tags] : undefined,
      at: Date.now(),
    };
    if (this.#store) await this.#store.putPending(capture);
    this.pending = [...this.pending, capture];
    void this.flush();
    return capture;
  }

  /** Drops a refused capture the staff have seen. */
  async discard(clientId: string): Promise<void> {
    await this.#store?.deletePending(clientId);
    this.pending = this.pending.filter((p) => p.clientId !== clientId);
  }

  /** Sends what is pending, oldest first, while the phone is online and the socket live. */
  async flush(): Promise<void> {
    if (this.sending || !this.online || this.deps.live.state.kind !== 'live') return;
    this.sending = true;
    try {
      for (const capture of this.pending.filter((p) => !p.refused)) {
        if (!this.online) break;
        try {
          const result = await this.deps.live.command('lead.capture', {
            event: capture.event,
            exhibitor: capture.exhibitor,
            code: capture.code,
            rating: capture.rating,
            notes: capture.notes,
            tags: capture.tags,
            clientId: capture.clientId,
          });
          this.#upsert(Lead.parse((result as { lead: unknown }).lead));
          await this.#store?.deletePending(capture.clientId);
          this.pending = this.pending.filter((p) => p.clientId !== capture.clientId);
        } catch (error) {
          if (error instanceof CommandError && finalRefusals.has(error.code)) {
            const refused = { ...capture, refused: error.message };
            await this.#store?.putPending(refused);
            this.pending = this.pending.map((p) => (p.clientId === capture.clientId ? refused : p));
            continue;
          }
          // Not connected, or the answer was lost: it stays pending and goes again with the same key.
          break;
        }
      }
    } finally {
      this.sending = false;
    }
    if (this.#store && this.leads.length > 0) void this.#store.putLeads(this.deps.event, this.deps.exhibitor, this.leads);
  }

  /** The hub's lead list (up to 500, newest last), kept on the device for the next offline start. */
  async refresh(): Promise<void> {
    const { event, exhibitor, token } = this.deps;
    try {
      const page = await getJson(this.deps.fetch ?? fetch, `/api/v1/events/${encodeURIComponent(event)}/exhibitors/${encodeURIComponent(exhibitor)}/leads?limit=500`, token, LeadPage);
      this.leads = page.leads;
      this.cachedAt = undefined;
      this.error = undefined;
      await this.#store?.putLeads(event, exhibitor, page.leads);
    } catch (error) {
      // Offline: the device's copy stays on screen, marked as such.
      if (this.cachedAt === undefined && this.leads.length > 0) this.cachedAt = Date.now();
      if (this.online) this.error = problemText(error);
    }
  }

  messages(batch: readonly LiveMessage[]): void {
    for (const message of batch) {
      const parsed = LeadMessage.safeParse(message.data);
      if (parsed.success) this.#upsert(parsed.data.lead);
    }
  }

  live(): void {
    void this.refresh();
    void this.flush();
  }

  reset(): void {
    void this.refresh();
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  #upsert(lead: Lead): void {
    const i = this.leads.findIndex((l) => l.id === lead.id);
    if (i < 0) this.leads = [...this.leads, lead];
    else if (this.leads[i]!.updatedAt <= lead.updatedAt) this.leads = this.leads.map((l) => (l.id === lead.id ? lead : l));
  }
}

/**
 * Leads and pending captures matching a search (name, email, notes, tags; a pending capture by its code), newest first.
 * @example matching(model.leads, model.pending, 'acme')
 */
export function matching(leads: readonly Lead[], pending: readonly PendingCapture[], query: string): { leads: Lead[]; pending: PendingCapture[] } {
  const q = query.trim().toLowerCase();
  const hit = (...texts: (string | undefined)[]) => q === '' || texts.some((t) => t?.toLowerCase().includes(q));
  return {
    pending: pending.filter((p) => hit(p.code, p.notes, ...(p.tags ?? []))).reverse(),
    leads: leads.filter((l) => hit(l.attendee.name, l.attendee.email, l.attendee.type, l.notes, ...l.tags)).sort((a, b) => b.lastAt - a.lastAt),
  };
}
