import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Stripe from 'stripe';

/**
 * A local stand-in for the slice of Stripe's API the box office calls, speaking Stripe's wire format: form-encoded
 * requests with bracketed keys (`metadata[opshub_event]=expo`, `line_items[0][quantity]=2`), a `Bearer` secret key,
 * `Idempotency-Key` replays, Stripe-shaped JSON objects and `{"error":{type,code,message}}` errors with
 * `Stripe-Should-Retry`. It plays the other side too: it completes payments (a hosted page a phone can open, or a call
 * from the test), and delivers the resulting events signed exactly as Stripe signs them
 * (`Stripe.webhooks.generateTestHeaderString`) to the webhook URLs it is given.
 *
 * Pointed at by the official SDK through `STRIPE_API_URL` (the SDK takes host, port and protocol).
 * @example const stripe = await StripeStandIn.start({ secretKey: 'sk_test_x', webhookSecret: 'whsec_x' });
 */
export class StripeStandIn {
  readonly requests: RecordedRequest[] = [];
  readonly delivered: { event: StripeEventJson; status: number; body: string; url: string }[] = [];
  readonly paymentIntents = new Map<string, Json>();
  readonly sessions = new Map<string, Json>();
  readonly charges = new Map<string, Json>();
  /** where events go, round-robin when there are several hubs; set once the hub listens */
  webhookUrls: string[] = [];
  /** deliver the events a completion or refund causes by itself (as Stripe does); tests may deliver by hand instead */
  autoDeliver = true;
  readonly #idempotent = new Map<string, { path: string; status: number; body: string }>();
  readonly #failures: { path: RegExp; status: number; error: Json; shouldRetry?: boolean }[] = [];
  #next = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly options: { secretKey: string; webhookSecret: string },
  ) {}

  static async start(options: { secretKey: string; webhookSecret: string }): Promise<StripeStandIn> {
    let standIn: StripeStandIn | undefined;
    const server = createServer((req, res) => void standIn!.#handle(req, res));
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    standIn = new StripeStandIn(server, port, options);
    return standIn;
  }

  /** `STRIPE_API_URL` for the hub. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The hub's Stripe settings pointing at this stand-in. */
  get config(): { secretKey: string; webhookSecret: string; apiUrl: string } {
    return { secretKey: this.options.secretKey, webhookSecret: this.options.webhookSecret, apiUrl: this.url };
  }

  /** Makes the next request(s) to a path fail with a Stripe error (`shouldRetry` sets `Stripe-Should-Retry: true`). */
  failNext(path: RegExp, status: number, error: { type: string; code?: string; message: string; decline_code?: string }, options: { times?: number; shouldRetry?: boolean } = {}): void {
    for (let i = 0; i < (options.times ?? 1); i++) this.#failures.push({ path, status, error, shouldRetry: options.shouldRetry });
  }

  /** The card is presented and accepted: the PaymentIntent succeeds and `payment_intent.succeeded` is delivered. */
  async succeed(paymentIntent: string): Promise<StripeEventJson> {
    const pi = this.#intent(paymentIntent);
    const charge = this.#charge(pi);
    Object.assign(pi, { status: 'succeeded', amount_received: pi.amount, latest_charge: charge.id });
    return this.#emit('payment_intent.succeeded', pi);
  }

  /** The card is declined: `payment_intent.payment_failed` with Stripe's decline details. */
  async decline(paymentIntent: string, decline = { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' }): Promise<StripeEventJson> {
    const pi = this.#intent(paymentIntent);
    Object.assign(pi, { status: 'requires_payment_method', last_payment_error: { type: 'card_error', ...decline } });
    return this.#emit('payment_intent.payment_failed', pi);
  }

  /** The buyer pays on the hosted page: a PaymentIntent is created and succeeds; both events are delivered. */
  async completeCheckout(session: string): Promise<{ paymentIntent: string; events: StripeEventJson[] }> {
    const cs = this.sessions.get(session);
    if (!cs) throw new Error(`no checkout session ${session}`);
    if (cs.status !== 'open') throw new Error(`checkout session ${session} is ${String(cs.status)}`);
    const data = (cs.payment_intent_data ?? {}) as Json;
    const pi = this.#newIntent({ amount: cs.amount_total, currency: cs.currency, metadata: data.metadata ?? {}, description: data.description ?? null });
    const charge = this.#charge(pi);
    Object.assign(pi, { status: 'succeeded', amount_received: pi.amount, latest_charge: charge.id });
    Object.assign(cs, { status: 'complete', payment_status: 'paid', payment_intent: pi.id });
    const events = [this.#event('checkout.session.completed', cs), this.#event('payment_intent.succeeded', pi)];
    if (this.autoDeliver) for (const e of events) await this.deliver(e);
    return { paymentIntent: pi.id as string, events };
  }

  /** A refund made in Stripe's dashboard (not through the box office): `charge.refunded` follows. */
  async refundInDashboard(paymentIntent: string, amount?: number): Promise<StripeEventJson> {
    const pi = this.#intent(paymentIntent);
    return this.#refund(pi, amount ?? (pi.amount as number) - (this.charges.get(pi.latest_charge as string)?.amount_refunded as number));
  }

  /** A Stripe event object as Stripe sends it. */
  event(type: string, object: Json): StripeEventJson {
    return this.#event(type, object);
  }

  /**
   * Delivers an event to a webhook URL (default: the next of `webhookUrls`), signed with the webhook secret.
   * `sign` overrides the signing: another secret, an old timestamp, or `false` for no signature at all.
   */
  async deliver(event: StripeEventJson, sign: { secret?: string; timestamp?: number } | false = {}, url?: string): Promise<{ status: number; body: string }> {
    const target = url ?? this.webhookUrls[this.#next++ % Math.max(1, this.webhookUrls.length)];
    if (!target) throw new Error('no webhook URL to deliver to');
    const payload = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' };
    if (sign !== false) {
      headers['stripe-signature'] = Stripe.webhooks.generateTestHeaderString({ payload, secret: sign.secret ?? this.options.webhookSecret, timestamp: sign.timestamp ?? Math.floor(Date.now() / 1000) });
    }
    const res = await fetch(target, { method: 'POST', headers, body: payload });
    const body = await res.text();
    this.delivered.push({ event, status: res.status, body, url: target });
    return { status: res.status, body };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await new Promise<string>((resolve) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => resolve(body));
    });
    // The hosted payment page, for a phone (no API key: Stripe's pages are public, the session id is the secret).
    const page = /^\/pay\/(cs_[A-Za-z0-9_]+)$/.exec(url.pathname);
    if (page) return this.#hostedPage(page[1]!, req.method ?? 'GET', res);

    const params = decodeForm(req.method === 'GET' ? url.searchParams.toString() : raw);
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      params,
      contentType: req.headers['content-type'] ?? '',
      idempotencyKey: header(req, 'idempotency-key'),
      authorization: header(req, 'authorization'),
      stripeVersion: header(req, 'stripe-version'),
    };
    this.requests.push(record);
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${id()}`, ...extra });
      res.end(text);
      return text;
    };
    if (record.authorization !== `Bearer ${this.options.secretKey}`) {
      send(401, { error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${record.authorization.replace(/^Bearer /, '').slice(0, 8)}…` } });
      return;
    }
    const failure = this.#failures.findIndex((f) => f.path.test(url.pathname));
    if (failure >= 0) {
      const [f] = this.#failures.splice(failure, 1);
      send(f!.status, { error: f!.error }, f!.shouldRetry === undefined ? {} : { 'stripe-should-retry': String(f!.shouldRetry) });
      return;
    }
    const key = record.idempotencyKey && record.method === 'POST' ? `${record.authorization} ${record.idempotencyKey}` : '';
    const replay = key ? this.#idempotent.get(key) : undefined;
    if (replay) {
      if (replay.path !== url.pathname) {
        send(400, { error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used for the same endpoint they were first used for (${replay.path}).` } });
      } else {
        res.writeHead(replay.status, { 'content-type': 'application/json', 'request-id': `req_${id()}`, 'idempotent-replayed': 'true' });
        res.end(replay.body);
      }
      return;
    }
    const { status, body } = await this.#route(record.method, url.pathname, params);
    const text = send(status, body);
    // Stripe stores the result of a request with a key, errors included (except 5xx, which may be retried).
    if (key && status < 500) this.#idempotent.set(key, { path: url.pathname, status, body: text });
  }

  async #route(method: string, path: string, p: Json): Promise<{ status: number; body: unknown }> {
    let m: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/payment_intents') {
      if (!Number.isInteger(Number(p.amount)) || !p.currency) return invalid('Missing required param: amount.', 'amount');
      return { status: 200, body: this.#newIntent(p) };
    }
    if ((m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path)) && method === 'GET') {
      const pi = this.paymentIntents.get(m[1]!);
      return pi ? { status: 200, body: pi } : missing('payment_intent', m[1]!);
    }
    if ((m = /^\/v1\/payment_intents\/([^/]+)\/cancel$/.exec(path)) && method === 'POST') {
      const pi = this.paymentIntents.get(m[1]!);
      if (!pi) return missing('payment_intent', m[1]!);
      if (pi.status === 'succeeded' || pi.status === 'canceled') {
        return invalid(`You cannot cancel this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`, undefined, 'payment_intent_unexpected_state');
      }
      Object.assign(pi, { status: 'canceled', cancellation_reason: p.cancellation_reason ?? 'requested_by_customer', canceled_at: now() });
      void this.#emit('payment_intent.canceled', pi);
      return { status: 200, body: pi };
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const item = ((p.line_items ?? []) as Json[])[0];
      if (p.mode !== 'payment' || !item) return invalid('Missing required param: line_items.', 'line_items');
      const price = item.price_data as Json;
      const sid = `cs_test_${id(24)}`;
      const session: Json = {
        id: sid,
        object: 'checkout.session',
        mode: 'payment',
        status: 'open',
        payment_status: 'unpaid',
        payment_intent: null,
        amount_total: Number(price.unit_amount) * Number(item.quantity ?? 1),
        currency: price.currency,
        client_reference_id: p.client_reference_id ?? null,
        customer_email: p.customer_email ?? null,
        metadata: p.metadata ?? {},
        payment_intent_data: p.payment_intent_data ?? {},
        line_items_requested: [{ name: (price.product_data as Json)?.name, quantity: Number(item.quantity ?? 1), unit_amount: Number(price.unit_amount) }],
        url: `${this.url}/pay/${sid}`,
        success_url: p.success_url ?? null,
        expires_at: now() + 86_400,
        created: now(),
        livemode: false,
      };
      this.sessions.set(sid, session);
      return { status: 200, body: session };
    }
    if ((m = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/.exec(path)) && method === 'POST') {
      const cs = this.sessions.get(m[1]!);
      if (!cs) return missing('checkout.session', m[1]!);
      if (cs.status !== 'open') return invalid(`This Checkout Session is already in a terminal state (${String(cs.status)}) and cannot be expired.`);
      Object.assign(cs, { status: 'expired' });
      return { status: 200, body: cs };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      const pi = this.paymentIntents.get(String(p.payment_intent));
      if (!pi) return missing('payment_intent', String(p.payment_intent));
      if (pi.status !== 'succeeded') return invalid(`This PaymentIntent (${String(pi.id)}) does not have a successful charge to refund.`);
      const charge = this.charges.get(pi.latest_charge as string)!;
      const left = (charge.amount as number) - (charge.amount_refunded as number);
      const amount = p.amount === undefined ? left : Number(p.amount);
      if (left <= 0) return invalid(`Charge ${String(charge.id)} has already been refunded.`, undefined, 'charge_already_refunded');
      if (amount > left) return invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, 'amount');
      const refund = this.#applyRefund(charge, amount, (p.metadata ?? {}) as Json, String(p.reason ?? ''));
      if (this.autoDeliver) void this.deliver(this.#event('charge.refunded', charge)).catch(() => {});
      return { status: 200, body: refund };
    }
    return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` } } };
  }

  #hostedPage(session: string, method: string, res: ServerResponse): void {
    const cs = this.sessions.get(session);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (!cs) {
      res.writeHead(404).end('<!doctype html><title>Not found</title><p>This payment page does not exist.</p>');
      return;
    }
    if (method === 'POST' && cs.status === 'open') {
      void this.completeCheckout(session).then(() => res.writeHead(303, { location: `/pay/${session}` }).end());
      return;
    }
    const item = (cs.line_items_requested as Json[])[0]!;
    const total = `${((cs.amount_total as number) / 100).toFixed(2)} ${String(cs.currency).toUpperCase()}`;
    res.writeHead(200).end(`<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>Pay ${total}</title>
<style>body{font:18px system-ui;margin:2rem;max-width:28rem}button{font:inherit;padding:.8rem 1.6rem;background:#635bff;color:#fff;border:0;border-radius:6px}</style></head>
<body><h1>${String(item.name)}</h1><p>${item.quantity as number} × ${((item.unit_amount as number) / 100).toFixed(2)} · <strong data-testid="total">${total}</strong></p>
${cs.status === 'open' ? `<form method="post"><button type="submit" data-testid="pay">Pay ${total}</button></form>` : `<p data-testid="status">${cs.status === 'complete' ? 'Payment complete' : `Session ${String(cs.status)}`}</p>`}
<p><small>Stripe stand-in for tests</small></p></body></html>`);
  }

  #newIntent(p: Json): Json {
    const pid = `pi_${id(24)}`;
    const pi: Json = {
      id: pid,
      object: 'payment_intent',
      amount: Number(p.amount),
      amount_received: 0,
      currency: String(p.currency).toLowerCase(),
      status: 'requires_payment_method',
      client_secret: `${pid}_secret_${id(24)}`,
      description: p.description ?? null,
      metadata: p.metadata ?? {},
      allowed_payment_method_types: p.allowed_payment_method_types ?? ['card'],
      capture_method: p.capture_method ?? 'automatic',
      receipt_email: p.receipt_email ?? null,
      latest_charge: null,
      last_payment_error: null,
      cancellation_reason: null,
      created: now(),
      livemode: false,
    };
    this.paymentIntents.set(pid, pi);
    return pi;
  }

  #intent(paymentIntent: string): Json {
    const pi = this.paymentIntents.get(paymentIntent);
    if (!pi) throw new Error(`no payment intent ${paymentIntent}`);
    return pi;
  }

  #charge(pi: Json): Json {
    const charge: Json = {
      id: `ch_${id(24)}`,
      object: 'charge',
      amount: pi.amount,
      amount_captured: pi.amount,
      amount_refunded: 0,
      refunded: false,
      captured: true,
      paid: true,
      status: 'succeeded',
      currency: pi.currency,
      payment_intent: pi.id,
      metadata: pi.metadata,
      created: now(),
      livemode: false,
    };
    this.charges.set(charge.id as string, charge);
    return charge;
  }

  #applyRefund(charge: Json, amount: number, metadata: Json, reason: string): Json {
    Object.assign(charge, { amount_refunded: (charge.amount_refunded as number) + amount });
    charge.refunded = charge.amount_refunded === charge.amount;
    return { id: `re_${id(24)}`, object: 'refund', amount, charge: charge.id, payment_intent: charge.payment_intent, currency: charge.currency, metadata, reason: reason || null, status: 'succeeded', created: now() };
  }

  async #refund(pi: Json, amount: number): Promise<StripeEventJson> {
    const charge = this.charges.get(pi.latest_charge as string);
    if (!charge) throw new Error(`payment intent ${String(pi.id)} has no charge`);
    this.#applyRefund(charge, amount, {}, '');
    return this.#emit('charge.refunded', charge);
  }

  async #emit(type: string, object: Json): Promise<StripeEventJson> {
    const event = this.#event(type, object);
    if (this.autoDeliver && this.webhookUrls.length > 0) await this.deliver(event);
    return event;
  }

  #event(type: string, object: Json): StripeEventJson {
    return {
      id: `evt_${id(24)}`,
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: now(),
      // A snapshot: later changes to the object do not alter an event already built.
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: `req_${id()}`, idempotency_key: null },
      type,
    };
  }
}

export type Json = Record<string, unknown>;

export interface StripeEventJson {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Json };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string; idempotency_key: string | null };
  type: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** the form body decoded into nested objects and arrays, as Stripe reads it */
  params: Json;
  contentType: string;
  idempotencyKey: string;
  authorization: string;
  stripeVersion: string;
}

/**
 * Decodes Stripe's form encoding: `a[b][0][c]=1` → `{ a: { b: [{ c: '1' }] } }`. Values stay strings, as on the wire.
 * @example decodeForm('metadata%5Bopshub_event%5D=expo&amount=4500') // { metadata: { opshub_event: 'expo' }, amount: '4500' }
 */
export function decodeForm(body: string): Json {
  const root: Json = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const path = name.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> | unknown[] = root;
    path.forEach((key, i) => {
      const last = i === path.length - 1;
      const container = node as Record<string, unknown>;
      if (last) {
        container[key] = value;
        return;
      }
      container[key] ??= /^\d+$/.test(path[i + 1]!) ? [] : {};
      node = container[key] as Record<string, unknown>;
    });
  }
  return root;
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

function id(length = 14): string {
  return randomBytes(length).toString('base64url').replace(/[-_]/g, 'x').slice(0, length);
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function invalid(message: string, param?: string, code?: string): { status: number; body: unknown } {
  return { status: 400, body: { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) } } };
}

function missing(object: string, objectId: string): { status: number; body: unknown } {
  return { status: 404, body: { error: { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such ${object}: '${objectId}'` } } };
}
