import type Stripe from 'stripe';
import { signTicket } from '@opshub/replica';
import {
  stripeMetadataKeys as keys,
  topicName,
  type AlertMessage,
  type Claims,
  type CreateSaleBody,
  type CreateSaleResult,
  type RefundBody,
  type RevenueMessage,
  type Sale,
  type TicketType,
} from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import type { Kysely } from 'kysely';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import type { Bus } from '../../bus/bus.ts';
import { ClientError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ReplicaHost } from '../../replicas/replica-host.ts';
import { insertAlert } from '../../store/repos/alerts-repo.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import {
  attachPayment,
  findSaleByPayment,
  getSale,
  insertLedgerEntry,
  insertSale,
  listTicketTypes,
  lockRevenue,
  markUnpaid,
  newSaleId,
  recordStripeEvent,
  refundTickets,
  restoreTickets,
  revenueTotals,
  saleTickets,
  setRefunded,
  setStripeEventOutcome,
  settleSale,
  type LedgerEntry,
  type SaleRecord,
} from '../../store/repos/box-office-repo.ts';
import { eventKeys } from '../../store/repos/event-keys-repo.ts';
import { eventExists } from '../../store/repos/events-repo.ts';
import type { Store } from '../../store/store.ts';
import { paymentFact, type PaymentFact } from './stripe-events.ts';
import { PaymentError, type PaymentGateway } from './stripe-gateway.ts';

export interface BoxOfficeDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly replicas: ReplicaHost;
  readonly log: Logger;
  /** the Stripe SDK client; undefined without `STRIPE_SECRET_KEY` (cash only) */
  readonly payments: PaymentGateway | undefined;
  /** without `STRIPE_WEBHOOK_SECRET` Stripe cannot confirm card payments, so the box office does not take them */
  readonly webhooksConfigured: boolean;
}

/** What a handled Stripe event came to (also stored beside its id). */
export interface WebhookOutcome {
  outcome: string;
}

/**
 * The box office and live revenue: door sales for cash or by card (Stripe), payments made elsewhere with opshub
 * metadata, refunds, and the `event/{e}/revenue` messages. schema → authorize (routes) → persist → publish →
 * analytics, as every stream; and the tickets a sale issues or a refund revokes are written into the gate replicas
 * before the caller is answered, so connected gates have them within milliseconds.
 *
 * Rules that keep money and tickets in step:
 * - a ticket exists only for a settled payment: cash recorded by staff, or a Stripe event saying the money was taken;
 * - every money movement is one ledger entry with a unique key (`sale:{id}`, `refund:{charge}:{cumulative}`,
 *   `cash-refund:…`), written with the tickets, the audit row and the revenue message in one transaction under the
 *   event's revenue lock, so a replay (of a Stripe event, or on another hub) finds the key and changes nothing;
 * - no Stripe call happens inside a transaction: Stripe is slow and may not answer.
 */
export function boxOfficeStream(deps: BoxOfficeDeps) {
  const { store, bus, replicas, log, payments } = deps;
  const revenueTopic = (event: string) => topicName({ kind: 'revenue', event });

  function cardAvailability(): { available: boolean; reason?: string } {
    if (!payments) return { available: false, reason: 'Card payments need STRIPE_SECRET_KEY on the hub: this box office sells for cash only.' };
    if (!deps.webhooksConfigured) return { available: false, reason: 'Card payments need STRIPE_WEBHOOK_SECRET on the hub too: without it Stripe cannot confirm a payment, and no ticket would be issued.' };
    return { available: true };
  }

  /** Publishes a ledger entry with the event's totals after it, and records it for analytics; call inside the transaction that wrote it. */
  async function publishEntry(trx: Kysely<Database>, entry: LedgerEntry, actor: string): Promise<RevenueMessage> {
    const { otherCurrencies: _other, ...totals } = await revenueTotals(trx, entry.event);
    const message: RevenueMessage = {
      kind: entry.kind,
      id: entry.id,
      at: entry.at.getTime(),
      sale: entry.sale,
      channel: entry.channel,
      type: entry.ticketType,
      tickets: entry.tickets,
      amount: entry.amount,
      currency: entry.currency,
      totals,
    };
    await bus.publish(revenueTopic(entry.event), message);
    await recordAnalytics(trx, {
      ts: entry.at.getTime(),
      event: entry.event,
      kind: `revenue.${entry.kind}`,
      actor,
      properties: { sale: entry.sale, channel: entry.channel, type: entry.ticketType, tickets: entry.tickets, amount: entry.amount, currency: entry.currency },
    });
    return message;
  }

  /** Issued or revoked tickets reach the gate replicas; a failure is logged and healed when the doc next loads. */
  async function project(event: string, codes: readonly string[]): Promise<void> {
    await replicas.projectTickets(event, codes).catch((err: unknown) => log.error({ err, event }, 'projecting box-office tickets failed'));
  }

  /** The codes among `codes` whose holder is inside now, per this hub's replica of the gates. */
  async function insideNow(event: string, codes: readonly string[]): Promise<Map<string, { gate: string; zone: string; at: number }>> {
    const inside = new Map<string, { gate: string; zone: string; at: number }>();
    if (codes.length === 0) return inside;
    const replica = await replicas.acquire(event);
    try {
      for (const code of codes) {
        const state = replica.timeline.state(code);
        if (state?.inside && state.entry) inside.set(code, { gate: state.entry.gate, zone: replica.zoneOfGate(state.entry.gate), at: state.entry.at });
      }
    } finally {
      replicas.release(event);
    }
    return inside;
  }

  /** One `refunded_inside` alert per refunded ticket whose holder is inside (its id is the ticket's: raised once). */
  async function alertRefundedInside(sale: SaleRecord, codes: readonly string[]): Promise<void> {
    const inside = await insideNow(sale.event, codes);
    for (const [code, where] of inside) {
      const alert: AlertMessage = {
        id: `refund:${code}`,
        kind: 'refunded_inside',
        severity: 'warning',
        at: Date.now(),
        title: `Refunded ticket ${code}${sale.holder ? ` (${sale.holder})` : ''} is inside${where.zone ? ` ${where.zone}` : ''}: admitted at ${where.gate}`,
        detail: { code, sale: sale.id, holder: sale.holder, zone: where.zone, gate: where.gate, admittedAt: where.at },
      };
      await store.db
        .transaction()
        .execute(async (trx) => {
          if (await insertAlert(trx, sale.event, alert)) await bus.publish(topicName({ kind: 'alerts', event: sale.event }), alert);
        })
        .catch((err: unknown) => log.error({ err, event: sale.event, code }, 'raising the refunded-inside alert failed'));
    }
  }

  async function ticketType(event: string, id: string): Promise<TicketType> {
    if (!(await eventExists(store.db, event))) throw new ClientError('not_found', `event "${event}" not found`);
    const type = (await listTicketTypes(store.db, event)).find((t) => t.id === id);
    if (!type) throw new ClientError('invalid', `event "${event}" has no ticket type "${id}"`);
    return type;
  }

  /** A sale as the box office shows it; with `tokens`, each ticket's signed offline-valid token (the QR on it). */
  async function view(sale: SaleRecord, { tokens = false } = {}): Promise<Sale> {
    const tickets = await saleTickets(store.db, sale.event, sale.id);
    const key = tokens && tickets.length > 0 ? (await eventKeys(store.db, sale.event)).privateJwk : undefined;
    return {
      id: sale.id,
      event: sale.event,
      channel: sale.channel,
      status: sale.status,
      type: sale.ticketType,
      typeName: sale.typeName,
      quantity: sale.quantity,
      amount: sale.amount,
      currency: sale.currency,
      refunded: sale.refunded,
      holder: sale.holder,
      email: sale.email,
      paymentIntent: sale.paymentIntent,
      checkoutUrl: sale.status === 'pending' ? sale.checkoutUrl : null,
      failure: sale.failure,
      createdBy: sale.createdBy,
      createdAt: sale.createdAt.getTime(),
      settledAt: sale.settledAt?.getTime() ?? null,
      tickets: await Promise.all(
        tickets.map(async (t) => ({
          code: t.code,
          status: t.status,
          refunded: t.refundedAt !== null,
          ...(key ? { token: await signTicket({ event: sale.event, code: t.code, holder: t.holder, type: t.type, zones: t.zones }, key) } : {}),
        })),
      ),
    };
  }

  async function requireSale(event: string, id: string): Promise<SaleRecord> {
    const sale = await getSale(store.db, event, id);
    if (!sale) throw new ClientError('not_found', `sale "${id}" not found`);
    return sale;
  }

  /**
   * A door sale. Cash: paid at once, tickets issued, in the ledger. Card: a pending sale with a PaymentIntent for the
   * reader and a hosted Checkout page for the buyer's phone; its tickets are issued when Stripe confirms.
   */
  async function sell(claims: Claims, event: string, body: CreateSaleBody): Promise<CreateSaleResult> {
    const type = await ticketType(event, body.type);
    const amount = type.price * body.quantity;
    const base = { event, id: newSaleId(), type, quantity: body.quantity, amount, currency: type.currency, holder: body.holder, email: body.email, createdBy: claims.sub };
    if (body.method === 'cash') {
      const { sale, entry, codes } = await store.db.transaction().execute(async (trx) => {
        await lockRevenue(trx, event);
        const pending = (await insertSale(trx, { ...base, channel: 'cash' }))!;
        const settled = await settleSale(trx, pending, { paymentIntent: null, amount, currency: type.currency, at: new Date() });
        await appendAudit(trx, {
          actor: claims.sub,
          role: claims.role,
          action: 'sale.cash',
          event,
          target: pending.id,
          after: { type: type.id, quantity: body.quantity, amount, currency: type.currency, holder: body.holder, email: body.email, tickets: settled.codes },
        });
        await publishEntry(trx, settled.entry, claims.sub);
        return { sale: pending, ...settled };
      });
      await project(event, codes);
      const paid = (await getSale(store.db, event, sale.id))!;
      return { ...(await view(paid, { tokens: true })), clientSecret: null };
    }

    const card = cardAvailability();
    if (!card.available || !payments) throw new ClientError('unavailable', card.reason!);
    const pending = await store.db.transaction().execute(async (trx) => {
      const sale = (await insertSale(trx, { ...base, channel: 'card' }))!;
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'sale.create', event, target: sale.id, after: { method: 'card', type: type.id, quantity: body.quantity, amount, currency: type.currency, holder: body.holder, email: body.email } });
      return sale;
    });
    const metadata: Record<string, string> = {
      [keys.event]: event,
      [keys.ticketType]: type.id,
      [keys.holder]: body.holder,
      [keys.email]: body.email,
      [keys.quantity]: String(body.quantity),
      [keys.sale]: pending.id,
    };
    const params = { amount, currency: type.currency, description: `${body.quantity} × ${type.name} (${event}, sale ${pending.id})`, email: body.email, metadata };
    let intent: { id: string; clientSecret: string | null };
    try {
      intent = await payments.createPaymentIntent(params, `opshub:${event}:${pending.id}:payment-intent`);
    } catch (error) {
      const problem = error instanceof PaymentError ? error.message : 'Stripe did not create the payment';
      await markUnpaid(store.db, event, pending.id, 'failed', problem);
      await appendAudit(store.db, { actor: claims.sub, role: claims.role, action: 'sale.fail', event, target: pending.id, after: { reason: problem } });
      throw paymentClientError(error, 'create the card payment');
    }
    await attachPayment(store.db, event, pending.id, { paymentIntent: intent.id });
    let checkoutError: string | undefined;
    try {
      const session = await payments.createCheckoutSession(
        { ...params, productName: `${type.name} · ${event}`, quantity: body.quantity, unitAmount: type.price },
        `opshub:${event}:${pending.id}:checkout`,
      );
      await attachPayment(store.db, event, pending.id, { checkoutSession: session.id, checkoutUrl: session.url });
    } catch (error) {
      // The reader can still take the PaymentIntent; the page says the phone option is missing and why.
      checkoutError = error instanceof PaymentError ? error.message : 'Stripe did not create the phone payment page';
      log.warn({ err: error, event, sale: pending.id }, 'checkout session not created');
    }
    const sale = (await getSale(store.db, event, pending.id))!;
    return { ...(await view(sale, { tokens: true })), clientSecret: intent.clientSecret, ...(checkoutError ? { checkoutError } : {}) };
  }

  /** Cancels a card sale still waiting for its payment: the PaymentIntent canceled, the phone page closed. */
  async function cancel(claims: Claims, event: string, id: string): Promise<Sale> {
    const sale = await requireSale(event, id);
    if (sale.status === 'paid') throw new ClientError('conflict', `sale ${id} is paid: refund it instead`);
    if (sale.status === 'canceled') return view(sale);
    if (payments && sale.paymentIntent) {
      try {
        await payments.cancelPaymentIntent(sale.paymentIntent);
      } catch (error) {
        // Already canceled is fine; already succeeded means the confirmation is on its way.
        if (!(error instanceof PaymentError && error.kind === 'conflict')) throw paymentClientError(error, 'cancel the card payment');
        if (/succeeded/.test(error.message)) throw new ClientError('conflict', `sale ${id} was just paid by card; its tickets are issued as soon as Stripe confirms`);
      }
    }
    if (payments && sale.checkoutSession) await payments.expireCheckoutSession(sale.checkoutSession).catch((err: unknown) => log.info({ err, sale: id }, 'checkout session not expired'));
    await store.db.transaction().execute(async (trx) => {
      await lockRevenue(trx, event);
      if (await markUnpaid(trx, event, id, 'canceled', `Canceled at the box office by ${claims.sub}`)) {
        await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'sale.cancel', event, target: id, before: { status: sale.status } });
      }
    });
    return view((await getSale(store.db, event, id))!);
  }

  /**
   * Refunds a paid sale, or some of its tickets. The tickets are revoked at once and reach the gates before the answer;
   * a cash refund is in the ledger at once, a card refund goes to Stripe and its money is settled by `charge.refunded`.
   * When Stripe refuses the refund, the tickets admit again.
   */
  async function refund(claims: Claims, event: string, id: string, body: RefundBody): Promise<Sale> {
    const sale = await requireSale(event, id);
    if (sale.status !== 'paid') throw new ClientError('conflict', `sale ${id} is ${sale.status}: only a paid sale can be refunded`);
    if (sale.channel !== 'cash' && !payments) throw new ClientError('unavailable', 'Refunding a card payment needs STRIPE_SECRET_KEY on the hub');
    const tickets = await saleTickets(store.db, event, id);
    const open = tickets.filter((t) => t.refundedAt === null).map((t) => t.code);
    const codes = body.tickets ? [...new Set(body.tickets)] : open;
    for (const code of codes) {
      const ticket = tickets.find((t) => t.code === code);
      if (!ticket) throw new ClientError('invalid', `ticket ${code} is not part of sale ${id}`);
      if (ticket.refundedAt) throw new ClientError('conflict', `ticket ${code} was refunded already`);
    }
    if (codes.length === 0) throw new ClientError('conflict', `sale ${id} has nothing left to refund`);
    const refundedBefore = sale.quantity - open.length;
    const amount = amountFor(sale, refundedBefore + codes.length) - amountFor(sale, refundedBefore);
    const at = new Date();
    const reason = body.reason ?? '';

    const entry = await store.db.transaction().execute(async (trx) => {
      await lockRevenue(trx, event);
      const changed = await refundTickets(trx, event, id, codes, at);
      if (changed.length !== codes.length) throw new ClientError('conflict', 'these tickets were refunded meanwhile');
      let ledger: LedgerEntry | null = null;
      if (sale.channel === 'cash') {
        // Cash goes back across the desk now: that is the settlement.
        ledger = await insertLedgerEntry(trx, { event, key: `cash-refund:${id}:${[...codes].sort().join(',')}`, sale: id, kind: 'refund', channel: 'cash', ticketType: sale.ticketType, tickets: codes.length, amount, currency: sale.currency, at });
        await setRefunded(trx, event, id, sale.refunded + amount);
        if (ledger) await publishEntry(trx, ledger, claims.sub);
      }
      await appendAudit(trx, {
        actor: claims.sub,
        role: claims.role,
        action: sale.channel === 'cash' ? 'sale.refund.cash' : 'sale.refund',
        event,
        target: id,
        after: { tickets: codes, amount, currency: sale.currency, reason },
      });
      return ledger;
    });
    await project(event, codes);
    await alertRefundedInside(sale, codes);

    if (sale.channel !== 'cash' && payments) {
      if (!sale.paymentIntent) throw new ClientError('conflict', `sale ${id} has no Stripe payment to refund`);
      try {
        await payments.refund(
          { paymentIntent: sale.paymentIntent, amount, metadata: { [keys.event]: event, [keys.sale]: id, opshub_tickets: codes.join(' ') } },
          `opshub:${event}:${id}:refund:${[...codes].sort().join(',')}`,
        );
      } catch (error) {
        if (error instanceof PaymentError && error.definite) {
          await store.db.transaction().execute(async (trx) => {
            await lockRevenue(trx, event);
            await restoreTickets(trx, event, id, codes);
            await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'sale.refund.failed', event, target: id, after: { tickets: codes, reason: error.message } });
          });
          await project(event, codes);
          throw paymentClientError(error, 'refund', ' The tickets admit again.');
        }
        await appendAudit(store.db, { actor: claims.sub, role: claims.role, action: 'sale.refund.unconfirmed', event, target: id, after: { tickets: codes, reason: error instanceof Error ? error.message : String(error) } });
        throw new ClientError(
          'unavailable',
          `${error instanceof Error ? error.message : 'Stripe did not answer'}. The tickets stay revoked and the refund may still go through: check the payment in Stripe before refunding by other means.`,
        );
      }
    }
    return view((await getSale(store.db, event, id))!, { tokens: true });
  }

  /** Applies a verified Stripe event; idempotent by its id, and by sale. */
  async function handleStripeEvent(event: Stripe.Event): Promise<WebhookOutcome> {
    const fact = paymentFact(event);
    switch (fact.kind) {
      case 'paid':
        return settleFromStripe(event, fact);
      case 'unpaid':
        return unpaidFromStripe(event, fact);
      case 'refunded':
        return refundFromStripe(event, fact);
      case 'ignored':
        return ignore(event, null, fact.reason);
    }
  }

  async function ignore(event: Stripe.Event, opshubEvent: string | null, reason: string): Promise<WebhookOutcome> {
    const fresh = await recordStripeEvent(store.db, { id: event.id, type: event.type, opshubEvent, outcome: `ignored: ${reason}` });
    if (fresh) log.info({ stripeEvent: event.id, type: event.type, reason }, 'stripe event ignored');
    return { outcome: fresh ? `ignored: ${reason}` : 'replay' };
  }

  /** The opshub event a payment belongs to: its metadata's, else that of the sale that holds the payment. */
  async function eventOf(fact: { paymentIntent: string | null; checkoutSession?: string | null; order: { event: string | undefined } }): Promise<string | undefined> {
    const named = fact.order.event ?? (await findSaleByPayment(store.db, { paymentIntent: fact.paymentIntent, checkoutSession: fact.checkoutSession ?? null }))?.event;
    return named && (await eventExists(store.db, named)) ? named : undefined;
  }

  async function settleFromStripe(stripeEvent: Stripe.Event, fact: Extract<PaymentFact, { kind: 'paid' }>): Promise<WebhookOutcome> {
    const event = await eventOf(fact);
    if (!event) return ignore(stripeEvent, null, fact.order.event ? `event "${fact.order.event}" not found` : `no ${keys.event} in the payment's metadata`);
    const types = await listTicketTypes(store.db, event);
    const done = await store.db.transaction().execute(async (trx) => {
      await lockRevenue(trx, event);
      if (!(await recordStripeEvent(trx, { id: stripeEvent.id, type: stripeEvent.type, opshubEvent: event, outcome: 'applying' }))) return { outcome: 'replay' as const };
      const outcome = async (text: string) => {
        await setStripeEventOutcome(trx, stripeEvent.id, text);
        return text;
      };
      let sale: SaleRecord | null = null;
      if (fact.order.sale) {
        sale = await getSale(trx, event, fact.order.sale, { forUpdate: true });
        if (!sale) return { outcome: await outcome(`ignored: sale ${fact.order.sale} is not one of this hub's`) };
      }
      sale ??= await findSaleByPayment(trx, { paymentIntent: fact.paymentIntent, checkoutSession: fact.checkoutSession }, { forUpdate: true });
      if (sale && sale.event !== event) return { outcome: await outcome(`ignored: the payment belongs to a sale of event ${sale.event}`) };
      if (!sale) {
        // A payment made outside the box office (an online shop, a payment link): its metadata is the order.
        const order = fact.order.order;
        if ('problem' in order) return { outcome: await outcome(`ignored: ${order.problem}`) };
        const type = types.find((t) => t.id === order.type);
        if (!type) return { outcome: await outcome(`ignored: event ${event} has no ticket type "${order.type}"`) };
        sale = await insertSale(trx, {
          event,
          id: newSaleId(),
          channel: 'online',
          type,
          quantity: order.quantity,
          amount: fact.amount,
          currency: fact.currency,
          holder: order.holder,
          email: order.email,
          paymentIntent: fact.paymentIntent,
          createdBy: 'stripe',
        });
        if (!sale) return { outcome: await outcome('ignored: the payment intent belongs to another sale') };
        if (fact.checkoutSession) await attachPayment(trx, event, sale.id, { checkoutSession: fact.checkoutSession });
        await appendAudit(trx, { actor: 'stripe', role: 'system', action: 'sale.online', event, target: sale.id, after: { type: type.id, quantity: order.quantity, amount: fact.amount, currency: fact.currency, holder: order.holder, email: order.email, paymentIntent: fact.paymentIntent, stripeEvent: stripeEvent.id } });
      }
      if (sale.status === 'paid') {
        if (fact.paymentIntent && sale.paymentIntent && fact.paymentIntent !== sale.paymentIntent) {
          // Paid twice (the reader and the phone at the same moment): the second payment goes back.
          await appendAudit(trx, { actor: 'stripe', role: 'system', action: 'sale.double_payment', event, target: sale.id, after: { paymentIntent: fact.paymentIntent, amount: fact.amount, stripeEvent: stripeEvent.id } });
          return { outcome: await outcome(`double payment of ${sale.id}: refunding ${fact.paymentIntent}`), doublePayment: { sale, paymentIntent: fact.paymentIntent, amount: fact.amount } };
        }
        return { outcome: await outcome(`sale ${sale.id} was settled already`) };
      }
      const at = new Date();
      const settled = await settleSale(trx, sale, { paymentIntent: fact.paymentIntent, amount: fact.amount, currency: fact.currency, at });
      await appendAudit(trx, {
        actor: 'stripe',
        role: 'system',
        action: 'sale.settle',
        event,
        target: sale.id,
        before: { status: sale.status },
        after: { paymentIntent: fact.paymentIntent, checkoutSession: fact.checkoutSession, amount: fact.amount, currency: fact.currency, tickets: settled.codes, stripeEvent: stripeEvent.id },
      });
      await publishEntry(trx, settled.entry, 'stripe');
      return {
        outcome: await outcome(`settled ${sale.id}: ${settled.codes.length} ticket(s)`),
        settled: { sale, ...settled },
        // What the buyer did not use: the reader's PaymentIntent when the phone paid, the phone page when the reader did.
        leftOpen: {
          paymentIntent: sale.paymentIntent && sale.paymentIntent !== fact.paymentIntent ? sale.paymentIntent : null,
          checkoutSession: sale.checkoutSession && sale.checkoutSession !== fact.checkoutSession ? sale.checkoutSession : null,
        },
      };
    });
    if ('settled' in done && done.settled) {
      await project(event, done.settled.codes);
      const { paymentIntent, checkoutSession } = done.leftOpen;
      if (payments && paymentIntent) await payments.cancelPaymentIntent(paymentIntent).catch((err: unknown) => log.info({ err, paymentIntent }, 'unused payment intent not canceled'));
      if (payments && checkoutSession) await payments.expireCheckoutSession(checkoutSession).catch((err: unknown) => log.info({ err, checkoutSession }, 'unused checkout session not expired'));
    }
    if ('doublePayment' in done && done.doublePayment) {
      const { sale, paymentIntent, amount } = done.doublePayment;
      if (!payments) log.error({ sale: sale.id, paymentIntent }, 'a sale was paid twice and STRIPE_SECRET_KEY is not set: refund the second payment in Stripe');
      else
        await payments
          .refund({ paymentIntent, amount, metadata: { [keys.event]: event, [keys.sale]: sale.id, opshub_reason: 'paid twice' } }, `opshub:${event}:${sale.id}:double:${paymentIntent}`)
          .catch((err: unknown) => log.error({ err, sale: sale.id, paymentIntent }, 'refunding a double payment failed: refund it in Stripe'));
    }
    return { outcome: done.outcome };
  }

  async function unpaidFromStripe(stripeEvent: Stripe.Event, fact: Extract<PaymentFact, { kind: 'unpaid' }>): Promise<WebhookOutcome> {
    const event = await eventOf(fact);
    if (!event) return ignore(stripeEvent, null, 'not a payment of an opshub sale');
    const outcome = await store.db.transaction().execute(async (trx) => {
      await lockRevenue(trx, event);
      if (!(await recordStripeEvent(trx, { id: stripeEvent.id, type: stripeEvent.type, opshubEvent: event, outcome: 'applying' }))) return 'replay';
      const sale = (fact.order.sale ? await getSale(trx, event, fact.order.sale, { forUpdate: true }) : null) ?? (await findSaleByPayment(trx, { paymentIntent: fact.paymentIntent }, { forUpdate: true }));
      let text: string;
      if (!sale || sale.event !== event) text = 'ignored: no sale for this payment';
      else if (sale.paymentIntent && sale.paymentIntent !== fact.paymentIntent) text = `ignored: ${sale.id} is paid through another payment`;
      else if (await markUnpaid(trx, event, sale.id, fact.status, fact.reason)) {
        await appendAudit(trx, { actor: 'stripe', role: 'system', action: 'sale.fail', event, target: sale.id, before: { status: sale.status }, after: { status: fact.status, reason: fact.reason, stripeEvent: stripeEvent.id } });
        text = `${sale.id} ${fact.status}`;
      } else text = `ignored: ${sale.id} is ${sale.status}`;
      await setStripeEventOutcome(trx, stripeEvent.id, text);
      return text;
    });
    return { outcome };
  }

  /**
   * `charge.refunded`: Stripe's cumulative `amount_refunded` settles the money (the ledger gets the difference from
   * what was recorded), and the tickets it covers are revoked: those the box office refunded already count; for a
   * refund made in Stripe itself, tickets whose holders are not inside go first. A partial refund smaller than a
   * ticket's price revokes nothing.
   */
  async function refundFromStripe(stripeEvent: Stripe.Event, fact: Extract<PaymentFact, { kind: 'refunded' }>): Promise<WebhookOutcome> {
    const found = await findSaleByPayment(store.db, { paymentIntent: fact.paymentIntent });
    if (!found) return ignore(stripeEvent, null, `no sale for payment ${fact.paymentIntent}`);
    const event = found.event;
    const inside = await insideNow(event, (await saleTickets(store.db, event, found.id)).map((t) => t.code));
    const done = await store.db.transaction().execute(async (trx) => {
      await lockRevenue(trx, event);
      const nothing = { revoked: [] as string[], entry: null as LedgerEntry | null };
      if (!(await recordStripeEvent(trx, { id: stripeEvent.id, type: stripeEvent.type, opshubEvent: event, outcome: 'applying' }))) return { ...nothing, outcome: 'replay', sale: found };
      const sale = (await getSale(trx, event, found.id, { forUpdate: true }))!;
      if (sale.status !== 'paid') {
        const text = `ignored: ${sale.id} is ${sale.status}`;
        await setStripeEventOutcome(trx, stripeEvent.id, text);
        return { ...nothing, outcome: text, sale };
      }
      const tickets = await saleTickets(trx, event, sale.id);
      const covered = fact.fullyRefunded ? sale.quantity : ticketsCovered(sale, fact.amountRefunded);
      const alreadyRefunded = tickets.filter((t) => t.refundedAt !== null).length;
      const candidates = tickets
        .filter((t) => t.refundedAt === null)
        .sort((a, b) => Number(inside.has(a.code)) - Number(inside.has(b.code)) || b.position - a.position)
        .slice(0, Math.max(0, covered - alreadyRefunded))
        .map((t) => t.code);
      const at = new Date();
      const revoked = await refundTickets(trx, event, sale.id, candidates, at);
      const delta = fact.amountRefunded - sale.refunded;
      let entry: LedgerEntry | null = null;
      if (delta > 0) {
        await setRefunded(trx, event, sale.id, fact.amountRefunded);
        const ticketsRefunded = Math.max(0, covered - (sale.refunded >= sale.amount ? sale.quantity : ticketsCovered(sale, sale.refunded)));
        entry = await insertLedgerEntry(trx, { event, key: `refund:${fact.charge}:${fact.amountRefunded}`, sale: sale.id, kind: 'refund', channel: sale.channel, ticketType: sale.ticketType, tickets: ticketsRefunded, amount: delta, currency: sale.currency, at });
        if (entry) await publishEntry(trx, entry, 'stripe');
      }
      await appendAudit(trx, { actor: 'stripe', role: 'system', action: 'sale.refund.settle', event, target: sale.id, before: { refunded: sale.refunded }, after: { refunded: Math.max(sale.refunded, fact.amountRefunded), charge: fact.charge, revoked, stripeEvent: stripeEvent.id } });
      const text = `refund of ${sale.id} settled: ${Math.max(0, delta)} refunded, ${revoked.length} ticket(s) revoked`;
      await setStripeEventOutcome(trx, stripeEvent.id, text);
      return { outcome: text, revoked, sale, entry };
    });
    if (done.revoked.length > 0) {
      await project(event, done.revoked);
      await alertRefundedInside(done.sale, done.revoked);
    }
    return { outcome: done.outcome };
  }

  return {
    cardAvailability,
    sell,
    cancel,
    refund,
    handleStripeEvent,
    view,
    requireSale,
  };
}

export type BoxOfficeStream = ReturnType<typeof boxOfficeStream>;

/**
 * What `n` of a sale's tickets are worth: the amount split evenly, rounded up, so all of them are exactly the amount
 * and {@link ticketsCovered} of it gives back `n`.
 */
export function amountFor(sale: Pick<SaleRecord, 'amount' | 'quantity'>, n: number): number {
  return Math.ceil((sale.amount * n) / sale.quantity);
}

/** How many of a sale's tickets an amount refunded pays for (a partial refund below one ticket's price: none). */
export function ticketsCovered(sale: Pick<SaleRecord, 'amount' | 'quantity'>, refunded: number): number {
  if (sale.amount <= 0) return 0;
  return Math.min(sale.quantity, Math.floor((refunded * sale.quantity) / sale.amount));
}

/** A Stripe problem as the client sees it: the words, and a status that fits. */
function paymentClientError(error: unknown, what: string, suffix = ''): ClientError {
  if (!(error instanceof PaymentError)) return new ClientError('unavailable', `Stripe did not ${what}.${suffix}`);
  const message = error.message + suffix;
  switch (error.kind) {
    case 'declined':
    case 'refused':
      return new ClientError('invalid', message);
    case 'rate_limited':
      return new ClientError('rate_limited', message);
    case 'conflict':
      return new ClientError('conflict', message);
    case 'unavailable':
      return new ClientError('unavailable', message);
  }
}
