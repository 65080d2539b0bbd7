import { PushNotification } from '@opshub/schema';

/**
 * What the service worker shows for a push, and where a tap leads: plain functions, so the page, the worker and the
 * tests agree on them. No DOM and no worker globals here.
 */

export interface ShownNotification {
  readonly title: string;
  readonly options: NotificationOptions & { renotify?: boolean; timestamp?: number };
}

/** Icons served from `console/static/icons/`. */
export const notificationIcon = '/icons/icon-192.png';
export const notificationBadge = '/icons/badge-96.png';

/**
 * The notification for a push payload. An unreadable payload still shows something: a browser requires every push
 * to show a notification (`userVisibleOnly`), and a vague one is better than the browser's own "updated in the
 * background".
 * @example toShownNotification('{"v":1,"kind":"announcement",…}').title // 'EMERGENCY · Expo 2026'
 */
export function toShownNotification(text: string | undefined): ShownNotification {
  let parsed: PushNotification | undefined;
  try {
    const result = PushNotification.safeParse(JSON.parse(text ?? ''));
    if (result.success) parsed = result.data;
  } catch {
    parsed = undefined;
  }
  if (!parsed) {
    return { title: 'opshub', options: { body: 'There is news about your event. Tap to open it.', icon: notificationIcon, badge: notificationBadge, data: { url: '/live/' } } };
  }
  const emergency = parsed.level === 'emergency';
  return {
    title: parsed.title,
    options: {
      body: parsed.body,
      tag: parsed.tag,
      icon: notificationIcon,
      badge: notificationBadge,
      timestamp: parsed.at,
      requireInteraction: parsed.requireInteraction ?? false,
      // An emergency that replaces an earlier one (same tag) must still ring and vibrate.
      renotify: emergency,
      ...(emergency ? { vibrate: [300, 100, 300, 100, 300] } : {}),
      data: { url: parsed.url, kind: parsed.kind, event: parsed.event },
    } as NotificationOptions,
  };
}

/**
 * The page a tap opens: the notification's `url` on this origin; anything else (another origin, garbage) opens the
 * app's start page instead, so a payload can never send anyone off-site.
 * @example tapTarget({ url: '/live/expo/keynote' }, 'https://hub.example').href // 'https://hub.example/live/expo/keynote'
 */
export function tapTarget(data: unknown, origin: string): URL {
  const url = typeof data === 'object' && data !== null && typeof (data as { url?: unknown }).url === 'string' ? (data as { url: string }).url : '/live/';
  try {
    const target = new URL(url, origin);
    if (target.origin === origin && url.startsWith('/')) return target;
  } catch {
    // fall through
  }
  return new URL('/live/', origin);
}

/**
 * Which open window a tap should use: one already showing the page (focus it), else an audience window this worker
 * controls (navigate it there), else none (open a new one).
 */
export function pickWindow<W extends { url: string; controlled: boolean }>(windows: readonly W[], target: URL): { window: W; navigate: boolean } | undefined {
  const same = windows.find((w) => new URL(w.url).pathname === target.pathname);
  if (same) return { window: same, navigate: new URL(same.url).href !== target.href };
  const audience = windows.find((w) => w.controlled && new URL(w.url).pathname.startsWith('/live/'));
  return audience ? { window: audience, navigate: true } : undefined;
}
