/**
 * Overflow rooms (issue 17 item 3, and the "moved to the overflow room" push of issue 16 item 4), end to end with
 * real processes: a hub (`main.ts`) trusting the push service stand-in's certificate, an edge agent at the door of
 * the session's room, and the stand-in checking and decrypting what the hub pushes (support/push-service.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Directives, PushNotification, VapidPublicKey } from '@opshub/schema';
import { releaseBelow } from '../../src/streams/sessions/session-overflow.ts';
import { createTestCertificate, PushServiceStandIn, type TestCertificate } from '../support/push-service.ts';
import { minter } from '../support/test-hub.ts';
import { EdgeFleet, until } from '../gates/edge-fleet.ts';

const EVENT = 'ovf';
const event = {
  id: EVENT,
  name: 'Overflow day',
  zones: [
    { id: 'main', name: 'Main hall', capacity: 100 },
    { id: 'annex', name: 'Annex', capacity: 100 },
  ],
  gates: [
    { id: 'main-door', name: 'Main door', zone: 'main' },
    { id: 'annex-door', name: 'Annex door', zone: 'annex' },
  ],
};
const code = (i: number) => `OV${String(i).padStart(3, '0')}`;
/** The keynote has 20 seats of its own in a hall of 100: the session's capacity is what counts. */
const SEATS = 20;
const TICKETS = 1000;

interface ScanAnswer {
  verdict: string;
  redirect?: string;
}

let fleet: EdgeFleet;
let cert: TestCertificate;
let service: PushServiceStandIn;
let next = 0;
const fresh = () => code(next++);

const scan = async (body: { code: string; dir?: 'in' | 'out' }): Promise<ScanAnswer> => {
  const res = await fetch(`${fleet.agents.get('door-1')!.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dir: 'in', ...body }) });
  expect(res.status).toBe(200);
  return (await res.json()) as ScanAnswer;
};
/** Scans fresh codes until the door answers as `ok` wants (the hub's directive takes a moment to reach the replica). */
const doorAnswers = (ok: (a: ScanAnswer) => boolean, what: string) => until(() => scan({ code: fresh() }), ok, what, 15_000);
/** Scans fresh codes until one is admitted; returns it. */
const admittedCode = async (what: string): Promise<string> => {
  let last = '';
  await until(() => scan({ code: (last = fresh()) }), (a) => a.verdict === 'admitted', what, 15_000);
  return last;
};
/** The hub's count of the main hall (what its overflow decision reads). */
const capacityOfMain = async (): Promise<number> => {
  const summary = await json<{ byZone: Record<string, { inside: number }> }>(await fleet.api(`/api/v1/events/${EVENT}/checkins/summary`));
  return summary.byZone.main?.inside ?? -1;
};
const json = async <T>(res: Response): Promise<T> => {
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
};

beforeAll(async () => {
  cert = await createTestCertificate();
  service = await PushServiceStandIn.start(cert);
  fleet = await EdgeFleet.create(EVENT);
  await fleet.startHub({ NODE_EXTRA_CA_CERTS: cert.certFile, PUSH_ALLOWED_ORIGINS: service.origin, VAPID_SUBJECT: 'mailto:ops@example.com' });
  service.expectedKey = VapidPublicKey.parse(await (await fetch(`http://127.0.0.1:${fleet.hubPort}/api/v1/push/vapid-public-key`)).json()).key;
  expect((await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify(event) })).status).toBe(201);
  await json(await fleet.api(`/api/v1/events/${EVENT}/tickets`, { method: 'POST', body: JSON.stringify(Array.from({ length: TICKETS }, (_, i) => ({ code: code(i), holder: `H${i}` }))) }));
  const minute = 60_000;
  await json(
    await fleet.api(`/api/v1/events/${EVENT}/sessions`, {
      method: 'POST',
      body: JSON.stringify({ id: 'keynote', title: 'Opening keynote', zone: 'main', startsAt: Date.now() - 5 * minute, endsAt: Date.now() + 60 * minute, capacity: SEATS, overflow: 'annex' }),
    }),
  );
  await fleet.startAgent('door-1', 'main-door');
  await until(() => fleet.status('door-1'), (s) => s.online && s.tickets === TICKETS, 'the door online with the roster');
}, 120_000);

afterAll(async () => {
  await fleet?.close();
  await service?.close();
  await cert?.remove();
});

describe('overflow rooms', () => {
  it('A session room reaching capacity redirects at a real edge agent to the overflow room', async () => {
    // One attendee follows the keynote on their phone, another follows nothing.
    const follower = service.subscriber('follower');
    const bystander = service.subscriber('bystander');
    for (const [who, sessions] of [[follower, ['keynote']], [bystander, []]] as const) {
      const token = await minter.mint({ sub: `att-${who.id}`, role: 'attendee', events: [EVENT] });
      const res = await fetch(`http://127.0.0.1:${fleet.hubPort}/api/v1/events/${EVENT}/push/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ subscription: who.subscription, announcements: 'emergency', sessions }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
    }

    // The room fills: the door admits until the hub marks the room full (a scan or two in flight may get in past the
    // 20th: the count is the hub's, from the scans it has), then sends the next one to the annex.
    const inside: string[] = [];
    const redirected = await until(
      async () => {
        const c = fresh();
        const answer = await scan({ code: c });
        if (answer.verdict === 'admitted') inside.push(c);
        return answer;
      },
      (a) => a.verdict === 'zone_full',
      'the door refusing the full room',
      30_000,
    );
    expect(redirected).toMatchObject({ verdict: 'zone_full', redirect: 'annex' });
    expect(inside.length).toBeGreaterThanOrEqual(SEATS);

    // The follower's phone is told, once; the bystander's is not.
    await service.until(() => service.receiptsFor('follower').length >= 1, 30_000, "the follower's push");
    const told = PushNotification.parse(JSON.parse(service.receiptsFor('follower')[0]!.text));
    expect(told).toMatchObject({ kind: 'session', event: EVENT, title: 'Opening keynote: moved to the overflow room', url: `/live/${EVENT}/keynote`, tag: 'session-keynote-overflow' });
    expect(told.body).toContain('Main hall is full');
    expect(told.body).toContain('Annex');
    expect(service.receiptsFor('follower')[0]!.headers.urgency).toBe('high');

    // The directive is the hub's own, and audited as such.
    const directives = Directives.parse(await json(await fleet.api(`/api/v1/events/${EVENT}/directives`)));
    expect(directives.zones.find((z) => z.zone === 'main')).toMatchObject({ full: true, redirect: 'annex', by: 'system' });
    const audit = await json<{ entries: { actor: string; role: string; target: string; after: { full: boolean; why?: string } }[] }>(await fleet.api(`/api/v1/events/${EVENT}/audit?action=zone.state`));
    expect(audit.entries[0]).toMatchObject({ actor: 'system', role: 'system', target: 'main', after: { full: true } });
    expect(audit.entries[0]!.after.why).toMatch(/keynote" reached its capacity: \d+ \/ 20/);

    // Hysteresis: the room is released only at releaseBelow(20) = 18 inside, not as soon as one seat is free.
    expect(releaseBelow(SEATS)).toBe(18);
    const leave = async () => expect((await scan({ code: inside.shift()!, dir: 'out' })).verdict).toBe('admitted');
    while (inside.length > SEATS - 1) await leave();
    await until(() => fleet.status('door-1'), (s) => s.inside === SEATS - 1, 'the door counting 19 inside');
    await until(() => capacityOfMain(), (n) => n === SEATS - 1, 'the hub counting 19 inside');
    expect((await scan({ code: fresh() })).verdict).toBe('zone_full');
    await leave();
    inside.push(await admittedCode('the door admitting again at 18 inside'));
    // Full again at 20: redirected again, and nobody is pushed a second time for the same session.
    inside.push(await admittedCode('the 20th seat'));
    await doorAnswers((a) => a.verdict === 'zone_full' && a.redirect === 'annex', 'the door redirecting again');

    // The session ends (moved to end now): its room is released and its policy from before is back.
    const ended = await fleet.api(`/api/v1/events/${EVENT}/sessions/keynote`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endsAt: Date.now() + 1000 }) });
    expect(ended.status).toBe(200);
    await doorAnswers((a) => a.verdict === 'admitted', 'the door admitting after the session ended');
    const after = Directives.parse(await json(await fleet.api(`/api/v1/events/${EVENT}/directives`)));
    expect(after.zones.find((z) => z.zone === 'main')).toMatchObject({ full: false, redirect: null, by: 'system' });
    const releases = await json<{ entries: { actor: string; after: { full: boolean; why?: string } }[] }>(await fleet.api(`/api/v1/events/${EVENT}/audit?action=zone.state`));
    expect(releases.entries.map((e) => `${e.actor} ${e.after.full}`)).toEqual(['system false', 'system true', 'system false', 'system true']);
    expect(releases.entries[0]!.after.why).toMatch(/keynote.*ended/);

    expect(service.receiptsFor('follower')).toHaveLength(1);
    expect(service.receiptsFor('bystander')).toHaveLength(0);
    expect(service.violations).toEqual([]);
  }, 120_000);
});
