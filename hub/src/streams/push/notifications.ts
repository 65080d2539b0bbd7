import { pushLimits, type AnnouncementMessage, type PushKind, type PushLevel, type PushNotification } from '@opshub/schema';

/**
 * What each kind of push says and how it travels. The notification is the JSON the service worker shows
 * (`PushNotification` in schema); urgency and TTL are the Web Push headers (RFC 8030 §5.2, §5.3).
 */

/** A notification before its per-subscription `url` is known (announcements open the subscriber's own session page). */
export type DraftNotification = Omit<PushNotification, 'url'> & { url?: string | undefined };

export interface DeliveryPolicy {
  readonly urgency: 'normal' | 'high';
  /** how long the push service keeps it for a phone that is off; also when the hub stops retrying */
  readonly ttlSeconds: number;
  /** 0 is sent first: an emergency overtakes a queue of ordinary announcements */
  readonly priority: number;
}

/**
 * Emergencies go at once and expire soon: `high` urgency wakes a sleeping phone, and an evacuation notice that
 * arrives half an hour late is worse than none (the screens and the PA have moved on). Ordinary news keeps for an
 * hour; a `low` urgency would hold it until the phone is charging on Wi-Fi, which an attendee's never is.
 */
export const deliveryPolicies: Readonly<Record<PushLevel | Exclude<PushKind, 'announcement'>, DeliveryPolicy>> = Object.freeze({
  emergency: { urgency: 'high', ttlSeconds: 10 * 60, priority: 0 },
  warning: { urgency: 'normal', ttlSeconds: 60 * 60, priority: 1 },
  info: { urgency: 'normal', ttlSeconds: 60 * 60, priority: 1 },
  session: { urgency: 'normal', ttlSeconds: 30 * 60, priority: 1 },
  answer: { urgency: 'normal', ttlSeconds: 60 * 60, priority: 1 },
});

const levelTitle: Record<PushLevel, (event: string) => string> = {
  info: (event) => event,
  warning: (event) => `Warning · ${event}`,
  emergency: (event) => `EMERGENCY · ${event}`,
};

/** Room left in the payload for the `url` each subscription gets (`/live/{event}/{session}`, both ids ≤ 64). */
const URL_RESERVE_BYTES = 200;

/**
 * The notification for an announcement; its `url` is each subscriber's own session page (see {@link notificationFor}).
 * @example announcementNotification({ id: 'a1', event: 'expo', text: 'Doors open', level: 'info', by: 'ana', at: 0 }, 'Expo 2026')
 */
export function announcementNotification(message: AnnouncementMessage, eventName: string): DraftNotification {
  return fitNotification({
    v: 1,
    kind: 'announcement',
    event: message.event,
    title: levelTitle[message.level](eventName),
    body: message.text,
    tag: `announcement-${message.id}`,
    level: message.level,
    ...(message.level === 'emergency' ? { requireInteraction: true } : {}),
    at: message.at,
  });
}

/**
 * The JSON a subscription receives: the draft with its `url` filled in: the draft's own, else the first session the
 * subscription follows, else `/live/` (the app's start page, which opens the last session used on the device).
 */
export function notificationFor(draft: DraftNotification, subscription: { sessions: readonly string[] }): string {
  const session = subscription.sessions[0];
  const url = draft.url ?? (session ? `/live/${encodeURIComponent(draft.event)}/${encodeURIComponent(session)}` : '/live/');
  return JSON.stringify({ ...draft, url });
}

/**
 * Shortens `body` (at a character boundary, ending in "…") until the notification's JSON fits the push payload limit
 * with room for a `url`. Push services refuse messages over 4 KB; a long announcement is still whole on the page the
 * notification opens.
 */
export function fitNotification<T extends DraftNotification>(notification: T, budgetBytes = pushLimits.payloadBytes - URL_RESERVE_BYTES): T {
  const size = (n: T) => Buffer.byteLength(JSON.stringify(n));
  if (size(notification) <= budgetBytes) return notification;
  const title = [...notification.title].slice(0, 120).join('');
  const chars = [...notification.body];
  const withBody = (k: number) => ({ ...notification, title, body: `${chars.slice(0, k).join('')}…` });
  // The longest prefix that fits: binary search over characters (not bytes: a cut never splits one).
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(withBody(mid)) <= budgetBytes) lo = mid;
    else hi = mid - 1;
  }
  return withBody(lo);
}
