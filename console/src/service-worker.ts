/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * The console's service worker, registered by two pages under two scopes (not by SvelteKit):
 *
 * - `/live/`, the audience app: shows the hub's pushes and opens the right page when one is tapped. It caches nothing
 *   there: the audience page is live data over a WebSocket and is of no use offline.
 * - `/booth/`, the booth app: keeps the app's own files so a phone on a dead expo network can still open and reload it
 *   (the captures themselves are in IndexedDB). Pages come from the network first, so a hub upgrade is picked up at
 *   once when online; the hashed build files never change, so they are served from the cache.
 */
import { build, files, version } from '$service-worker';
import { pickWindow, tapTarget, toShownNotification } from '$lib/push/notification-view.ts';
import { boothCacheName, isBoothScope, shellKey } from '$lib/booth/offline-shell.ts';

const sw = self as unknown as ServiceWorkerGlobalScope;
const booth = isBoothScope(sw.registration.scope);
const cacheName = boothCacheName(version);

sw.addEventListener('install', (event) => {
  if (booth) {
    event.waitUntil(
      (async () => {
        const cache = await caches.open(cacheName);
        await cache.addAll([...build, ...files]);
        // The app's page: the hub answers every client route with it.
        const shell = await fetch(new URL('/booth/', sw.location.origin), { cache: 'no-cache' });
        if (shell.ok) await cache.put(shellKey, shell);
        await sw.skipWaiting();
      })(),
    );
    return;
  }
  void sw.skipWaiting();
});

sw.addEventListener('activate', (event) => {
  // Take the open pages at once (a tap can navigate audience pages; a booth page is covered before its first reload).
  event.waitUntil(
    (async () => {
      if (booth) for (const key of await caches.keys()) if (key.startsWith('opshub-booth-') && key !== cacheName) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  if (!booth || event.request.method !== 'GET') return;
  const url = new URL(event.request.url);
  if (url.origin !== sw.location.origin) return;
  if (event.request.mode === 'navigate') {
    event.respondWith(
      (async () => {
        try {
          const fresh = await fetch(event.request);
          if (fresh.ok) void caches.open(cacheName).then((c) => c.put(shellKey, fresh.clone()));
          return fresh;
        } catch (error) {
          const cached = await caches.match(shellKey);
          if (cached) return cached;
          throw error;
        }
      })(),
    );
    return;
  }
  // The build's files: cache first (hashed, immutable). The API and the socket are never cached.
  if (build.includes(url.pathname) || files.includes(url.pathname)) {
    event.respondWith(caches.match(event.request).then((hit) => hit ?? fetch(event.request)));
  }
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
