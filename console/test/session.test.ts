import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { minter, testSecret } from '../../hub/test/support/test-hub.ts';
import { EventClock, ago } from '../src/lib/event-clock.ts';
import { navFor } from '../src/lib/navigation.ts';
import { decodeToken, isExpired, readSession, TokenDecodeError } from '../src/lib/session.ts';

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string) => void this.items.set(k, v);
  removeItem = (k: string) => void this.items.delete(k);
}

describe('session', () => {
  it('reads the role and events of a hub token without verifying it (the hub does)', async () => {
    const token = await minter.mint({ sub: 'ana', role: 'staff', events: ['expo'] }, '1h');
    const session = decodeToken(token);
    expect(session.claims).toMatchObject({ sub: 'ana', role: 'staff', events: ['expo'] });
    expect(isExpired(session)).toBe(false);
    expect(isExpired(session, (session.expiresAt! + 1) * 1000)).toBe(true);
  });

  it('refuses what is not an opshub token', () => {
    expect(() => decodeToken('abc')).toThrow(TokenDecodeError);
    const payload = Buffer.from(JSON.stringify({ sub: 'x' })).toString('base64url');
    expect(() => decodeToken(`e30.${payload}.sig`)).toThrow(/opshub claims/);
  });

  it('reports a stored token as signed in, expired or invalid', async () => {
    const storage = new MemoryStorage();
    expect(readSession(storage)).toEqual({ kind: 'signed-out' });
    storage.setItem('opshub.token', await minter.mint({ sub: 'a', role: 'admin', events: ['*'] }, '1h'));
    expect(readSession(storage).kind).toBe('signed-in');
    const expired = await new SignJWT({ role: 'admin', events: ['*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(testSecret));
    storage.setItem('opshub.token', expired);
    expect(readSession(storage)).toMatchObject({ kind: 'invalid', reason: /expired/ });
    storage.setItem('opshub.token', 'garbage');
    expect(readSession(storage).kind).toBe('invalid');
  });

  it('shows the control room only to the roles that run it', () => {
    expect(navFor({ role: 'staff' }, 'expo').map((i) => i.label)).toEqual(['Control room', 'Box office', 'Tickets', 'Gates', 'Set-up', 'Sessions', 'Audit', 'Moderation', 'Sponsors', 'Announcements']);
    expect(navFor({ role: 'admin' }, 'expo').map((i) => i.href)).toEqual(['/ops/expo', '/box-office/expo', '/tickets/expo', '/gates/expo', '/events/expo', '/sessions/expo', '/audit/expo', '/moderate/expo', '/sponsor/expo', '/announcements/expo']);
    for (const role of ['gate', 'exhibitor', 'sponsor', 'attendee'] as const) {
      expect(navFor({ role }, 'expo').map((i) => i.label)).toEqual(['Announcements']);
    }
    expect(navFor({ role: 'moderator' }, 'expo').map((i) => i.label)).toEqual(['Moderation', 'Announcements']);
  });

  it('leads a sponsor to its own dashboard', () => {
    expect(navFor({ role: 'sponsor', sponsor: 'acme' }, 'expo').map((i) => i.href)).toEqual(['/sponsor/expo/acme', '/announcements/expo']);
    // Staff get the list of every sponsor instead, never a dashboard of their own.
    expect(navFor({ role: 'staff', sponsor: 'acme' }, 'expo').filter((i) => i.href.startsWith('/sponsor/')).map((i) => i.href)).toEqual(['/sponsor/expo']);
  });
});

describe('EventClock', () => {
  it("formats in the event's time zone, and falls back to UTC for an unknown zone", () => {
    const at = Date.UTC(2026, 4, 1, 8, 30, 5);
    expect(new EventClock('Europe/Berlin', 'en-GB').time(at)).toBe('10:30:05');
    expect(new EventClock('America/New_York', 'en-GB').short(at)).toBe('04:30');
    const unknown = new EventClock('Mars/Olympus', 'en-GB');
    expect(unknown.timeZone).toBe('UTC');
    expect(unknown.time(at)).toBe('08:30:05');
    expect(ago(0, 12_000)).toBe('12 s ago');
    expect(ago(0, 90_000)).toBe('1 min ago');
    expect(ago(0, 3 * 3_600_000)).toBe('3 h ago');
  });
});
