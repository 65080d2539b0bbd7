import { BoxOfficeState, CreateSaleResult, PutTicketTypesBody, RevenueMessage, Sale, topicName, type CreateSaleBody, type TicketType } from '@opshub/schema';
import { z } from 'zod';
import { getJson } from '$lib/api/hub-api.ts';
import type { LiveMessage, Subscription, TopicSink } from '$lib/live/live-connection.ts';
import type { LiveSocket } from '$lib/live/live-socket.svelte.ts';
import { problem, sendJson } from './box-office-api.ts';

/** While a card sale waits, its state is also read this often: a decline or a cancel is not a revenue message. */
const PENDING_POLL_MS = 2000;

/**
 * The box-office page's state: ticket types, whether cards are taken, recent sales, and the sale at the desk. A sale
 * settling anywhere (cash here, a card paid on the buyer's phone, another till) arrives on `event/{e}/revenue` and
 * refreshes what the page shows; REST carries the rest.
 */
export class BoxOfficeModel implements TopicSink {
  ticketTypes: TicketType[] = $state.raw([]);
  card: BoxOfficeState['card'] = $state.raw({ available: false });
  sales: Sale[] = $state.raw([]);
  /** the sale being served at the desk */
  current: (Sale & { clientSecret?: string | null; checkoutError?: string }) | undefined = $state.raw();
  loaded = $state(false);
  busy = $state(false);
  error: string | undefined = $state();
  #subscription: Subscription | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: { event: string; token: string; live: LiveSocket }) {}

  get #base(): string {
    return `/api/v1/events/${encodeURIComponent(this.deps.event)}`;
  }

  start(): () => void {
    void this.refresh();
    this.#subscription = this.deps.live.subscribe(topicName({ kind: 'revenue', event: this.deps.event }), this, 'live');
    this.#poll = setInterval(() => {
      if (this.current?.status === 'pending') void this.#reloadCurrent();
    }, PENDING_POLL_MS);
    return () => {
      this.#subscription?.close();
      clearInterval(this.#poll);
    };
  }

  messages(batch: readonly LiveMessage[]): void {
    const sales = new Set(batch.map((m) => RevenueMessage.safeParse(m.data)).flatMap((p) => (p.success ? [p.data.sale] : [])));
    if (sales.size === 0) return;
    void this.refresh();
    if (this.current && sales.has(this.current.id)) void this.#reloadCurrent();
  }

  reset(): void {
    void this.refresh();
  }

  refused(_code: string, message: string): void {
    this.error = message;
  }

  async refresh(): Promise<void> {
    try {
      const state = await getJson(fetch, `${this.#base}/box-office`, this.deps.token, BoxOfficeState);
      this.ticketTypes = state.ticketTypes;
      this.card = state.card;
      this.sales = state.sales;
      this.loaded = true;
    } catch (error) {
      this.error = problem(error);
    }
  }

  async #reloadCurrent(): Promise<void> {
    const id = this.current?.id;
    if (!id) return;
    try {
      const sale = await getJson(fetch, `${this.#base}/box-office/sales/${encodeURIComponent(id)}`, this.deps.token, Sale);
      if (this.current?.id === id) this.current = { ...this.current, ...sale };
    } catch (error) {
      this.error = problem(error);
    }
  }

  /** Sells; the answer (paid for cash, pending for card) becomes the sale at the desk. */
  async sell(body: CreateSaleBody): Promise<boolean> {
    return this.#run(async () => {
      this.current = await sendJson('POST', `${this.#base}/box-office/sales`, this.deps.token, body, CreateSaleResult);
      await this.refresh();
    });
  }

  async cancel(id: string): Promise<boolean> {
    return this.#run(async () => {
      const sale = await sendJson('POST', `${this.#base}/box-office/sales/${encodeURIComponent(id)}/cancel`, this.deps.token, {}, Sale);
      if (this.current?.id === id) this.current = sale;
      await this.refresh();
    });
  }

  /** Refunds a whole sale, or the given tickets of it. */
  async refund(id: string, tickets?: string[]): Promise<boolean> {
    return this.#run(async () => {
      const sale = await sendJson('POST', `${this.#base}/box-office/sales/${encodeURIComponent(id)}/refund`, this.deps.token, tickets ? { tickets } : {}, Sale);
      if (this.current?.id === id) this.current = sale;
      await this.refresh();
    });
  }

  async saveTicketTypes(ticketTypes: TicketType[]): Promise<boolean> {
    return this.#run(async () => {
      const answer = await sendJson('PUT', `${this.#base}/ticket-types`, this.deps.token, { ticketTypes } satisfies z.input<typeof PutTicketTypesBody>, PutTicketTypesBody);
      this.ticketTypes = answer.ticketTypes;
    });
  }

  clearCurrent(): void {
    this.current = undefined;
    this.error = undefined;
  }

  async #run(action: () => Promise<void>): Promise<boolean> {
    this.busy = true;
    this.error = undefined;
    try {
      await action();
      return true;
    } catch (error) {
      this.error = problem(error);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
