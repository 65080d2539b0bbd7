import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import webpush from 'web-push';
import type { VapidKeys } from './vapid-keys.ts';

/** One push to one subscription. */
export interface PushRequest {
  readonly endpoint: string;
  readonly p256dh: string;
  readonly auth: string;
  /** the notification JSON (encrypted by web-push, RFC 8291 aes128gcm) */
  readonly payload: string;
  readonly ttlSeconds: number;
  readonly urgency: 'normal' | 'high';
  /** `Topic`: a later message with the same topic replaces this one while it is undelivered */
  readonly topic?: string | undefined;
}

/** What the push service said, as the queue acts on it. */
export type SendResult =
  | { readonly kind: 'accepted'; readonly status: number }
  /** 404/410: the subscription is gone for good */
  | { readonly kind: 'expired'; readonly status: number }
  /** 429, 5xx or a network failure: worth another try, after `retryAfterMs` when the service said */
  | { readonly kind: 'retry'; readonly status?: number | undefined; readonly retryAfterMs?: number | undefined; readonly reason: string }
  /** refused (400, 401, 403, 413, …) or unsendable (a key web-push cannot use): another try would fail the same way */
  | { readonly kind: 'failed'; readonly status?: number | undefined; readonly reason: string };

export interface PushSender {
  send(request: PushRequest): Promise<SendResult>;
  close(): void;
}

/** A VAPID JWT is good for up to 24 h (RFC 8292 §2); reuse one per push service for 12 h, renewed an hour ahead. */
const VAPID_TOKEN_SECONDS = 12 * 3600;
const VAPID_RENEW_BEFORE_SECONDS = 3600;
/** TLS and network errors that another try will not fix. */
const PERMANENT_NETWORK_ERRORS = /^(ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)|ERR_INVALID_URL|HOSTNAME_MISMATCH)/;

/**
 * Sends pushes with the `web-push` package over one keep-alive HTTPS agent (TLS sessions reused, at most
 * `maxSockets` connections per push service), with a VAPID token cached per push service origin: signing a fresh
 * ES256 JWT for each of 10,000 requests costs more than encrypting their payloads.
 * @example const sender = new WebPushSender({ keys, subject: 'mailto:ops@example.com', maxSockets: 64 });
 */
export class WebPushSender implements PushSender {
  readonly #keys: VapidKeys;
  readonly #subject: string;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #tokens = new Map<string, { header: string; renewAt: number }>();

  /**
   * @param options.extraCa certificates trusted besides the system's and `NODE_EXTRA_CA_CERTS` (a push service with a
   *   private CA, such as a test's stand-in in the same process)
   */
  constructor(options: { keys: VapidKeys; subject: string; maxSockets: number; timeoutMs?: number; extraCa?: readonly string[] }) {
    this.#keys = options.keys;
    this.#subject = options.subject;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: options.maxSockets,
      scheduling: 'lifo',
      // One context for every connection: given `ca`, Node would parse the whole root store again per connection.
      ...(options.extraCa?.length ? { secureContext: createSecureContext({ ca: [...rootCertificates, ...options.extraCa] }) } : {}),
    });
  }

  async send(request: PushRequest): Promise<SendResult> {
    let authorization: string;
    try {
      authorization = this.#vapidAuthorization(new URL(request.endpoint).origin);
    } catch (error) {
      return { kind: 'failed', reason: `cannot sign for this endpoint: ${(error as Error).message}` };
    }
    try {
      const result = await webpush.sendNotification(
        { endpoint: request.endpoint, keys: { p256dh: request.p256dh, auth: request.auth } },
        request.payload,
        {
          // The VAPID header is ours (cached); vapidDetails: null keeps web-push from signing another one.
          vapidDetails: null as never,
          headers: { Authorization: authorization },
          TTL: request.ttlSeconds,
          urgency: request.urgency,
          contentEncoding: 'aes128gcm',
          ...(request.topic ? { topic: request.topic } : {}),
          agent: this.#agent,
          timeout: this.#timeoutMs,
        },
      );
      return { kind: 'accepted', status: result.statusCode };
    } catch (error) {
      return classify(error);
    }
  }

  /** Closes idle connections to the push services. */
  close(): void {
    this.#agent.destroy();
  }

  #vapidAuthorization(audience: string): string {
    const now = Date.now() / 1000;
    const cached = this.#tokens.get(audience);
    if (cached && cached.renewAt > now) return cached.header;
    const expiration = Math.floor(now) + VAPID_TOKEN_SECONDS;
    const { Authorization } = webpush.getVapidHeaders(audience, this.#subject, this.#keys.publicKey, this.#keys.privateKey, 'aes128gcm', expiration);
    this.#tokens.set(audience, { header: Authorization, renewAt: expiration - VAPID_RENEW_BEFORE_SECONDS });
    return Authorization;
  }
}

function classify(error: unknown): SendResult {
  if (error instanceof webpush.WebPushError) {
    const status = error.statusCode;
    if (status === 404 || status === 410) return { kind: 'expired', status };
    if (status === 429 || status >= 500) return { kind: 'retry', status, retryAfterMs: retryAfter(error.headers['retry-after']), reason: `push service answered ${status}` };
    return { kind: 'failed', status, reason: `push service answered ${status}${error.body ? `: ${String(error.body).slice(0, 200)}` : ''}` };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  // Thrown before any request: a payload or key web-push cannot encrypt for.
  if (!code && error instanceof Error && /p256dh|auth|payload|subscription|Vapid|TTL|urgency|topic/i.test(message)) return { kind: 'failed', reason: message };
  if (PERMANENT_NETWORK_ERRORS.test(code)) return { kind: 'failed', reason: `${code}: ${message}` };
  return { kind: 'retry', reason: code ? `${code}: ${message}` : message };
}

/** `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
