import { describe, expect, it } from 'vitest';
import type { PushDelivery } from '@opshub/schema';
import { base64UrlBytes } from '../src/lib/push/push-client.ts';
import { lastAudiencePage, rememberAudiencePage } from '../src/lib/push/last-audience-page.ts';
import { pickWindow, tapTarget, toShownNotification } from '../src/lib/push/notification-view.ts';
import { isDone, mergeDelivery, pending } from '../src/lib/push/delivery-figures.ts';

const origin = 'https://hub.example';

describe('what the service worker shows', () => {
  it('an emergency stays up, rings again when it replaces one, and opens its page', () => {
    const shown = toShownNotification(
      JSON.stringify({ v: 1, kind: 'announcement', event: 'expo', title: 'EMERGENCY · Expo', body: 'Leave hall B', url: '/live/expo/keynote', tag: 'announcement-1', level: 'emergency', requireInteraction: true, at: 5 }),
    );
    expect(shown.title).toBe('EMERGENCY · Expo');
    expect(shown.options).toMatchObject({ body: 'Leave hall B', tag: 'announcement-1', requireInteraction: true, renotify: true, timestamp: 5, data: { url: '/live/expo/keynote' } });
  });

  it('an unreadable push still shows something that opens the app', () => {
    for (const text of [undefined, '', 'not json', '{"v":2}']) {
      const shown = toShownNotification(text);
      expect(shown.title).toBe('opshub');
      expect(shown.options.data).toEqual({ url: '/live/' });
    }
  });

  it('a tap never leaves the hub\'s origin', () => {
    expect(tapTarget({ url: '/live/expo/keynote#questions' }, origin).href).toBe('https://hub.example/live/expo/keynote#questions');
    for (const url of ['https://evil.example/x', '//evil.example/x', 'javascript:alert(1)', 42]) expect(tapTarget({ url }, origin).href).toBe('https://hub.example/live/');
    expect(tapTarget(undefined, origin).pathname).toBe('/live/');
  });

  it('a tap focuses the page when it is open, else moves an audience window there, else opens one', () => {
    const target = new URL('/live/expo/keynote', origin);
    const keynote = { url: `${origin}/live/expo/keynote`, controlled: true };
    const panel = { url: `${origin}/live/expo/panel`, controlled: true };
    const console_ = { url: `${origin}/ops/expo`, controlled: false };
    expect(pickWindow([console_, panel, keynote], target)).toEqual({ window: keynote, navigate: false });
    expect(pickWindow([console_, panel], target)).toEqual({ window: panel, navigate: true });
    expect(pickWindow([console_], target)).toBeUndefined();
    expect(pickWindow([keynote], new URL('/live/expo/keynote#questions', origin))).toEqual({ window: keynote, navigate: true });
  });
});

describe('the audience app', () => {
  it('starts at the last audience page, and only at one', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(lastAudiencePage(storage)).toBeUndefined();
    rememberAudiencePage(storage, 'expo', 'keynote');
    expect(lastAudiencePage(storage)).toBe('/live/expo/keynote');
    for (const bad of ['https://evil.example/live/a/b', '/ops/expo', '/live/expo/keynote/extra', '/live/../x', '/live/%E0/b']) {
      store.set('opshub.live.last', bad);
      expect(lastAudiencePage(storage)).toBeUndefined();
    }
  });

  it('hands PushManager the VAPID key as raw bytes', () => {
    const key = Buffer.alloc(65, 7);
    key[0] = 4;
    expect(Buffer.from(base64UrlBytes(key.toString('base64url')))).toEqual(key);
  });
});

describe('delivery figures in the control room', () => {
  const base: PushDelivery = { id: 'p', kind: 'announcement', ref: 'a', title: 't', excerpt: 'e', targeted: 10, fannedOut: true, sent: 4, accepted: 3, expired: 1, failed: 0, createdAt: 1 };

  it('never go backwards, whichever view arrives last', () => {
    const later = { ...base, sent: 10, accepted: 8, expired: 1, failed: 1 };
    expect(mergeDelivery(later, base)).toMatchObject({ sent: 10, accepted: 8, failed: 1 });
    expect(mergeDelivery(base, later)).toMatchObject({ sent: 10, accepted: 8, failed: 1 });
    expect(mergeDelivery({ ...base, fannedOut: false, targeted: 4 }, base)).toMatchObject({ fannedOut: true, targeted: 10 });
    expect(pending(base)).toBe(6);
    expect(isDone(base)).toBe(false);
    expect(isDone(later)).toBe(true);
  });
});
