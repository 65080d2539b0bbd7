/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * The audience app's service worker (scope `/live/`, registered by the audience page, not by SvelteKit): shows the
 * hub's pushes and opens the right page when one is tapped. It caches nothing: the audience page is live data over a
 * WebSocket and is of no use offline, and a stale cached console would outlive a hub upgrade.
 */
import { pickWindow, tapTarget, toShownNotification } from '$lib/push/notification-view.ts';

const sw = self as unknown as ServiceWorkerGlobalScope;

sw.addEventListener('install', () => {
  void sw.skipWaiting();
});

sw.addEventListener('activate', (event) => {
  // Take the open audience pages at once, so a tap can navigate them.
  event.waitUntil(sw.clients.claim());
});

sw.addEventListener('push', (event) => {
  const { title, options } = toShownNotification(event.data?.text());
  event.waitUntil(sw.registration.showNotification(title, options));
});

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const opened = openPage(tapTarget(event.notification.data, sw.location.origin));
  try {
    event.waitUntil(opened);
  } catch {
    // An event dispatched by script (a test standing in for a tap) cannot extend its lifetime; the work still runs.
  }
});

async function openPage(target: URL): Promise<void> {
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const candidates = windows.map((w) => ({ url: w.url, controlled: inScope(w), client: w }));
  const pick = pickWindow(candidates, target);
  if (!pick) {
    await sw.clients.openWindow(target.href);
    return;
  }
  let client: WindowClient | null = pick.window.client;
  if (pick.navigate) client = await client.navigate(target.href).catch(() => client);
  // Focusing needs the tap's user activation; without it (a script standing in for a tap) the page is still there.
  await client?.focus().catch(() => undefined);
}

/** A window in this worker's scope: it controls those (clients.claim), and only those can be navigated from here. */
function inScope(client: WindowClient): boolean {
  return new URL(client.url).pathname.startsWith(new URL(sw.registration.scope).pathname);
}
