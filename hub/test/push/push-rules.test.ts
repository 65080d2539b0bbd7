import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { pushLimits, PushNotification, PushSubscribeBody } from '@opshub/schema';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { EndpointGuard, EndpointRefused, parseAllowedOrigin } from '../../src/streams/push/endpoint-guard.ts';
import { announcementNotification, fitNotification, notificationFor } from '../../src/streams/push/notifications.ts';
import { retryDelayMs, sendLimits } from '../../src/streams/push/retry-policy.ts';
import { checkVapidKeyPair, loadOrCreateVapidKeys, VapidKeyError } from '../../src/streams/push/vapid-keys.ts';
import { retryAfter } from '../../src/streams/push/web-push-sender.ts';

describe('endpoint guard (SSRF)', () => {
  const guard = new EndpointGuard([parseAllowedOrigin('https://127.0.0.1:8443'), parseAllowedOrigin('https://push.venue.example')]);

  it.each([
    'https://fcm.googleapis.com/fcm/send/dXk4:APA91b',
    'https://fcm.googleapis.com/wp/c2VjcmV0',
    'https://updates.push.services.mozilla.com/wpush/v2/gAAAAABl',
    'https://web.push.apple.com/QGg3T2Jh',
    'https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD',
    'https://127.0.0.1:8443/push/a',
    'https://push.venue.example/p/1',
  ])('allows %s', (endpoint) => {
    expect(guard.check(endpoint).href).toBe(new URL(endpoint).href);
  });

  it.each([
    ['http://127.0.0.1:8443/push/a', /https/],
    ['http://fcm.googleapis.com/fcm/send/x', /https/],
    ['https://127.0.0.1:9443/push/a', /private or loopback address \(127\.0\.0\.1\)/],
    ['https://10.1.2.3/x', /private or loopback/],
    ['https://192.168.0.10/x', /private or loopback/],
    ['https://169.254.169.254/latest/meta-data', /private or loopback/],
    ['https://[::1]/x', /private or loopback/],
    ['https://[fd00::1]/x', /private or loopback/],
    ['https://[::ffff:127.0.0.1]/x', /address/],
    ['https://2130706433/x', /private or loopback address \(127\.0\.0\.1\)/],
    ['https://8.8.8.8/x', /IP address/],
    ['https://localhost/x', /not a known push service/],
    ['https://fcm.googleapis.com.evil.example/x', /not a known push service/],
    ['https://evilfcm.googleapis.com/x', /not a known push service/],
    ['https://evil-notify.windows.com/x', /not a known push service/],
    ['https://fcm.googleapis.com:8443/x', /port 8443/],
    ['https://user:pw@fcm.googleapis.com/x', /user name or password/],
    ['file:///etc/passwd', /https/],
    ['not a url', /not a URL/],
  ])('refuses %s', (endpoint, why) => {
    expect(() => guard.check(endpoint)).toThrow(EndpointRefused);
    expect(() => guard.check(endpoint)).toThrow(why);
  });

  it('reads PUSH_ALLOWED_ORIGINS as https origins, naming a bad entry', () => {
    expect(loadConfig({ PUSH_ALLOWED_ORIGINS: ' https://127.0.0.1:8443/ , https://Push.Example ' }).push.allowedOrigins).toEqual(['https://127.0.0.1:8443', 'https://push.example']);
    for (const bad of ['http://127.0.0.1:8443', 'https://push.example/path', 'push.example']) {
      expect(() => loadConfig({ PUSH_ALLOWED_ORIGINS: bad })).toThrow(/PUSH_ALLOWED_ORIGINS/);
    }
  });
});

describe('subscription bodies', () => {
  const keys = { p256dh: Buffer.alloc(65, 4).toString('base64url'), auth: Buffer.alloc(16, 1).toString('base64url') };

  it('takes a browser PushSubscription JSON with defaults', () => {
    const body = PushSubscribeBody.parse({ subscription: { endpoint: 'https://fcm.googleapis.com/x', expirationTime: null, keys }, sessions: ['a', 'a', 'b'] });
    expect(body).toMatchObject({ announcements: 'info', sessions: ['a', 'b'] });
  });

  it.each([
    [{ subscription: { endpoint: 'https://x', keys: { ...keys, p256dh: 'short' } } }, /p256dh/],
    [{ subscription: { endpoint: 'https://x', keys: { ...keys, auth: Buffer.alloc(12).toString('base64url') } } }, /auth/],
    [{ subscription: { endpoint: 'https://x', keys } , announcements: 'loud' }, /announcements/],
    [{ subscription: { endpoint: 'https://x', keys, extra: 1 } }, /extra|Unrecognized/],
    [{ subscription: { endpoint: 'https://x', keys }, sessions: ['a/b'] }, /sessions/],
  ])('refuses %j', (body, why) => {
    const result = PushSubscribeBody.safeParse(body);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(why);
  });
});

describe('notifications', () => {
  it('an emergency asks for interaction; an announcement opens the subscriber\'s own session page', () => {
    const draft = announcementNotification({ id: 'a1', event: 'expo', text: 'Leave hall B by the east doors', level: 'emergency', by: 'ana', at: 1 }, 'Expo 2026');
    expect(draft).toMatchObject({ title: 'EMERGENCY · Expo 2026', requireInteraction: true, tag: 'announcement-a1', level: 'emergency' });
    expect(PushNotification.parse(JSON.parse(notificationFor(draft, { sessions: ['keynote', 'panel'] }))).url).toBe('/live/expo/keynote');
    expect(JSON.parse(notificationFor(draft, { sessions: [] })).url).toBe('/live/');
    const info = announcementNotification({ id: 'a2', event: 'expo', text: 'Coffee in hall B', level: 'info', by: 'ana', at: 1 }, 'Expo 2026');
    expect(info.requireInteraction).toBeUndefined();
  });

  it('fits any announcement into the push payload limit, cutting the text at a character', () => {
    const text = '€'.repeat(1999) + '😀';
    const draft = announcementNotification({ id: 'a1', event: 'expo', text, level: 'info', by: 'ana', at: 1 }, 'Expo 2026');
    const json = notificationFor(draft, { sessions: ['s'.repeat(64)] });
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(pushLimits.payloadBytes);
    expect(draft.body.endsWith('…')).toBe(true);
    expect(text.startsWith(draft.body.slice(0, -1))).toBe(true);
    expect(draft.body.length).toBeGreaterThan(1000);
    const short = fitNotification({ ...draft, body: 'short' });
    expect(short.body).toBe('short');
  });
});

describe('retries', () => {
  it('backs off exponentially with jitter, follows Retry-After, and caps both', () => {
    expect(retryDelayMs(1, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, undefined, () => 1)).toBe(1000);
    expect(retryDelayMs(4, undefined, () => 1)).toBe(8000);
    expect(retryDelayMs(20, undefined, () => 1)).toBe(60_000);
    expect(retryDelayMs(2, 30_000)).toBe(30_000);
    expect(retryDelayMs(2, 10 * 3600_000)).toBe(sendLimits.maxRetryAfterMs);
    expect(retryAfter('7')).toBe(7000);
    expect(retryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThan(55_000);
    expect(retryAfter('soon')).toBeUndefined();
  });
});

describe('VAPID keys', () => {
  it('are generated once into DATA_DIR, whole, and every starter reads the same pair', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opshub-vapid-'));
    try {
      const pairs = await Promise.all(Array.from({ length: 16 }, () => loadOrCreateVapidKeys({}, dir)));
      expect(new Set(pairs.map((p) => p.publicKey)).size).toBe(1);
      const file = join(dir, 'vapid-keys.json');
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(pairs[0]);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await loadOrCreateVapidKeys({}, dir)).toEqual(pairs[0]);
      await writeFile(file, '{"publicKey":');
      await expect(loadOrCreateVapidKeys({}, dir)).rejects.toThrow(/holds no VAPID key pair/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes a configured pair only when it is one', () => {
    const a = webpush.generateVAPIDKeys();
    const b = webpush.generateVAPIDKeys();
    expect(checkVapidKeyPair(a)).toEqual(a);
    expect(() => checkVapidKeyPair({ publicKey: a.publicKey, privateKey: b.privateKey })).toThrow(VapidKeyError);
    expect(loadConfig({ VAPID_PUBLIC_KEY: a.publicKey, VAPID_PRIVATE_KEY: a.privateKey }).vapid.publicKey).toBe(a.publicKey);
    for (const env of [{ VAPID_PUBLIC_KEY: a.publicKey }, { VAPID_PUBLIC_KEY: a.publicKey, VAPID_PRIVATE_KEY: b.privateKey }, { VAPID_SUBJECT: 'ops@example.com' }]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
    }
    expect(() => loadConfig({ VAPID_PUBLIC_KEY: a.publicKey })).toThrow(/VAPID_PRIVATE_KEY: set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY together/);
  });
});
