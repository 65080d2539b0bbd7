import { z } from 'zod';
import { Id } from '../claims.ts';

/**
 * Web push (issue 16): the REST bodies of `/api/v1/push/…` and `/api/v1/events/{e}/push/…`, the delivery figures
 * on `event/{e}/push`, and the notification a service worker receives. See docs/api.md, "Web push".
 */

export const pushLimits = Object.freeze({
  /** a browser's endpoint URL is a few hundred characters; anything near this is not one */
  endpointChars: 2048,
  /** sessions one subscription follows for session news */
  sessions: 50,
  /** devices (subscriptions) one attendee may register per event; an old phone's stays until it answers 410 */
  subscriptionsPerOwner: 20,
  /**
   * The largest notification JSON the hub sends, in UTF-8 bytes. RFC 8291 leaves 3,993 bytes of plaintext in a
   * 4,096-byte push message (86 bytes of header, 1 padding delimiter, 16 of tag); the margin keeps every service
   * (Apple's included) well inside its limit.
   */
  payloadBytes: 3800,
});

/** Announcement levels in rising order: a subscription receives its level and those above it. */
export const pushLevels = ['info', 'warning', 'emergency'] as const;
export const PushLevel = z.enum(pushLevels);
export type PushLevel = z.infer<typeof PushLevel>;

const base64url = (bytes: number, what: string) =>
  z
    .string()
    .max(256)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`)
    .refine((s) => decodedLength(s) === bytes, `${what} must decode to ${bytes} bytes`);

/** The browser's `PushSubscription.toJSON()`: `expirationTime` is passed through by browsers and ignored here. */
export const BrowserPushSubscription = z.strictObject({
  endpoint: z.string().min(1).max(pushLimits.endpointChars),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    /** the browser's P-256 public key, uncompressed (65 bytes) */
    p256dh: base64url(65, 'keys.p256dh'),
    /** the 16-byte authentication secret */
    auth: base64url(16, 'keys.auth'),
  }),
});
export type BrowserPushSubscription = z.infer<typeof BrowserPushSubscription>;

/** `POST /api/v1/events/{e}/push/subscriptions`: subscribe this browser (or change what it receives). */
export const PushSubscribeBody = z.strictObject({
  subscription: BrowserPushSubscription,
  /** announcements at or above this level are pushed (default `info`: all of them) */
  announcements: PushLevel.default('info'),
  /** sessions whose news (about to start, moved to an overflow room) is pushed */
  sessions: z
    .array(Id)
    .max(pushLimits.sessions)
    .default([])
    .transform((s) => [...new Set(s)]),
});
export type PushSubscribeBody = z.infer<typeof PushSubscribeBody>;

/** The answer to a subscription: what this endpoint now receives. */
export const PushSubscriptionState = z.object({
  endpoint: z.string(),
  announcements: PushLevel,
  sessions: z.array(z.string()),
});
export type PushSubscriptionState = z.infer<typeof PushSubscriptionState>;

/** `DELETE /api/v1/events/{e}/push/subscriptions` */
export const PushUnsubscribeBody = z.strictObject({ endpoint: z.string().min(1).max(pushLimits.endpointChars) });
export type PushUnsubscribeBody = z.infer<typeof PushUnsubscribeBody>;

/** `GET /api/v1/push/vapid-public-key`: the key browsers pass to `PushManager.subscribe` as `applicationServerKey`. */
export const VapidPublicKey = z.object({ key: z.string() });
export type VapidPublicKey = z.infer<typeof VapidPublicKey>;

/** What a push is about: an announcement, a session's news, or an attendee's own question. */
export const PushKind = z.enum(['announcement', 'session', 'answer']);
export type PushKind = z.infer<typeof PushKind>;

/**
 * Delivery figures of one push (one announcement, one piece of session news, one answered question), on
 * `event/{e}/push` (admin, staff) and in `GET /api/v1/events/{e}/push/deliveries`. Every count only grows, so a
 * client merges messages and the REST list by taking the larger value of each.
 */
export const PushDelivery = z.object({
  /** the push's id */
  id: z.string(),
  kind: PushKind,
  /** the announcement's id, the session's id or the question's id */
  ref: z.string(),
  level: PushLevel.optional(),
  /** the notification's title and the start of its text, for the control room's list */
  title: z.string(),
  excerpt: z.string(),
  /** subscriptions it went to; final once `fannedOut` */
  targeted: z.number().int(),
  fannedOut: z.boolean(),
  /** subscriptions a request went out to at least once */
  sent: z.number().int(),
  /** the push service took it (201) */
  accepted: z.number().int(),
  /** the push service said the subscription is gone (404/410): it was removed */
  expired: z.number().int(),
  /** given up: refused (other 4xx), retries spent, or out of time (TTL) */
  failed: z.number().int(),
  createdAt: z.number(),
});
export type PushDelivery = z.infer<typeof PushDelivery>;

/** `event/{e}/push` message data. */
export const PushDeliveryMessage = z.object({ type: z.literal('delivery'), delivery: PushDelivery });
export type PushDeliveryMessage = z.infer<typeof PushDeliveryMessage>;

/** `GET /api/v1/events/{e}/push/deliveries` query */
export const PushDeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });

/** `GET /api/v1/events/{e}/push/deliveries?limit=N`: the latest pushes, newest first, and how many devices subscribed. */
export const PushDeliveryList = z.object({
  deliveries: z.array(PushDelivery),
  /** the event's push subscriptions now (one per browser or installed app) */
  subscriptions: z.number().int(),
});
export type PushDeliveryList = z.infer<typeof PushDeliveryList>;

/**
 * The decrypted payload of every push the hub sends: what the service worker shows. `url` is a path on the hub's
 * origin, opened (or focused) on tap; `tag` replaces an earlier notification about the same thing instead of stacking.
 */
export const PushNotification = z.object({
  v: z.literal(1),
  kind: PushKind,
  event: Id,
  title: z.string(),
  body: z.string(),
  url: z.string().startsWith('/'),
  tag: z.string(),
  level: PushLevel.optional(),
  /** stays on screen until the person acts on it (emergencies) */
  requireInteraction: z.boolean().optional(),
  at: z.number(),
});
export type PushNotification = z.infer<typeof PushNotification>;

function decodedLength(s: string): number {
  const body = s.replace(/=+$/, '');
  return Math.floor((body.length * 3) / 4);
}
