/**
 * Sessions in the console (issue 17), in Debian's chromium against a real hub serving the real build: a planner adds
 * and edits sessions in the form (venue times in the event's zone, seats, overflow room, sponsor) and the hub stores
 * exactly that; an overflow room's projector shows the main room's live poll and pinned question; the sponsor
 * dashboard shows its sponsored session's room against the event's, from real gate scans and real votes.
 */
import type { Claims } from '@opshub/schema';
import { SessionAttendance } from '@opshub/schema';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateClient } from '../../hub/test/gates/gate-client.ts';
import { startTestHub, type TestHub } from '../../hub/test/support/test-hub.ts';
import { TestClient } from '../../hub/test/support/ws-client.ts';
import { ensureConsoleBuild } from '../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { screenshot, signIn } from './support/console-fixture.ts';

type Who = Partial<Claims> & Pick<Claims, 'role'>;
const admin: Who = { role: 'admin', sub: 'planner', events: ['*'] };
const minute = 60_000;

let hub: TestHub;
let browser: TestBrowser;
const sockets: TestClient[] = [];
const gates: GateClient[] = [];

async function send(method: string, path: string, body: unknown): Promise<unknown> {
  const res = await hub.api(path, { method, claims: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return res.json();
}
async function sessionOf(id: string): Promise<Record<string, unknown>> {
  const res = await hub.api(`/api/v1/events/expo/sessions/${id}`, { claims: admin });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}
/** Saves the form and waits for the page to say so (or fails with what the page said instead). */
async function saveForm(page: Page): Promise<void> {
  await page.getByTestId('save-session').click();
  await page
    .getByTestId('session-saved')
    .waitFor({ timeout: 15_000 })
    .catch(async (error: unknown) => {
      const problems = page.getByTestId('session-problems');
      throw new Error(`the form did not save: ${(await problems.count()) > 0 ? await problems.innerText() : String(error)}`);
    });
}
async function person(claims: Who): Promise<TestClient> {
  const socket = await TestClient.connect(hub.wsUrl, await hub.token({ events: ['expo'], ...claims }));
  sockets.push(socket);
  return socket;
}
async function ok<T = Record<string, unknown>>(reply: Promise<{ op: string; result?: unknown }>): Promise<T> {
  const answer = await reply;
  expect(answer.op, JSON.stringify(answer)).toBe('ok');
  return answer.result as T;
}

beforeAll(async () => {
  await ensureConsoleBuild();
  hub = await startTestHub();
  await send('POST', '/api/v1/events', {
    id: 'expo',
    name: 'Expo 2026',
    timezone: 'Europe/Berlin',
    zones: [
      { id: 'hall', name: 'Main hall', capacity: 500 },
      { id: 'annex', name: 'Annex', capacity: 200 },
      { id: 'room-b', name: 'Room B', capacity: 60 },
    ],
    gates: [
      { id: 'north', name: 'North gate', zone: 'hall' },
      { id: 'bdoor', name: 'Room B door', zone: 'room-b' },
    ],
  });
  await send('POST', '/api/v1/events/expo/tickets', Array.from({ length: 20 }, (_, i) => ({ code: `T${i + 1}` })));
  await send('POST', '/api/v1/events/expo/sponsors', [{ id: 'acme', name: 'ACME Robotics', sessions: [] }]);
  // Two sessions running now: the sponsored talk in the main hall (the annex is its overflow) and one in room B.
  await send('POST', '/api/v1/events/expo/sessions', [
    { id: 'talk', title: 'Robots on the show floor', zone: 'hall', startsAt: Date.now() - 10 * minute, endsAt: Date.now() + 50 * minute, overflow: 'annex', sponsor: 'acme' },
    { id: 'side', title: 'Side track', zone: 'room-b', startsAt: Date.now() - 20 * minute, endsAt: Date.now() + 40 * minute },
  ]);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  for (const gate of gates) gate.close();
  await Promise.all(sockets.map((s) => s.close()));
  await browser?.close();
  await hub?.close();
});

describe('sessions in the console', () => {
  it('adds and edits sessions in the form: venue time, room, seats, overflow and sponsor reach the hub as typed', async () => {
    const page: Page = await browser.newPage();
    await signIn(page, hub.httpUrl, '/sessions/expo', await hub.token(admin));
    await page.locator('[data-testid=sessions-table] tr[data-session=talk]').waitFor();
    expect(await page.locator('nav a', { hasText: 'Sessions' }).count()).toBeGreaterThan(0);

    await page.getByTestId('new-session').click();
    const form = page.getByTestId('session-form');
    await form.locator('input[name=title]').fill('Opening keynote');
    await form.locator('select[name=zone]').selectOption('hall');
    await form.locator('input[name=startsAt]').fill('2026-06-01T09:00');
    // Ending before it starts is caught in the page, and nothing is sent.
    await form.locator('input[name=endsAt]').fill('2026-06-01T08:00');
    await page.getByTestId('save-session').click();
    await expect.poll(() => page.getByTestId('session-problems').innerText()).toContain('It must end after it starts.');
    expect((await hub.api('/api/v1/events/expo/sessions/opening-keynote', { claims: admin })).status).toBe(404);

    await form.locator('input[name=endsAt]').fill('2026-06-01T10:30');
    await form.locator('input[name=capacity]').fill('300');
    await form.locator('select[name=overflow]').selectOption('annex');
    await form.locator('select[name=sponsor]').selectOption('acme');
    await saveForm(page);
    // 09:00 in Berlin in June is 07:00 UTC, whatever zone the browser runs in.
    expect(await sessionOf('opening-keynote')).toEqual({
      id: 'opening-keynote',
      title: 'Opening keynote',
      zone: 'hall',
      startsAt: '2026-06-01T07:00:00.000Z',
      endsAt: '2026-06-01T08:30:00.000Z',
      capacity: 300,
      overflow: 'annex',
      sponsor: 'acme',
    });
    const row = page.locator('[data-testid=sessions-table] tr[data-session=opening-keynote]');
    await expect.poll(() => row.innerText()).toMatch(/09:00.10:30[\s\S]*Opening keynote[\s\S]*Main hall[\s\S]*300[\s\S]*Annex[\s\S]*ACME Robotics/);

    // Edit: fewer seats, a later end, no sponsor; the room's own capacity for the side track.
    await page.getByTestId('edit-opening-keynote').click();
    await form.locator('input[name=capacity]').fill('250');
    await form.locator('input[name=endsAt]').fill('2026-06-01T11:00');
    await form.locator('select[name=sponsor]').selectOption('');
    await screenshot(page, 'sessions-form');
    await saveForm(page);
    expect(await sessionOf('opening-keynote')).toMatchObject({ capacity: 250, endsAt: '2026-06-01T09:00:00.000Z', sponsor: null, overflow: 'annex', startsAt: '2026-06-01T07:00:00.000Z' });
    const audit = (await (await hub.api('/api/v1/events/expo/audit?action=session.update', { claims: admin })).json()) as { entries: { target: string; actor: string }[] };
    expect(audit.entries.filter((e) => e.target === 'opening-keynote').map((e) => e.actor)).toEqual(['planner']);
    await page.close();
  }, 120_000);

  it("shows the main room's poll and pinned question on the overflow room's projector", async () => {
    const mod = await person({ role: 'moderator', sub: 'mod-1' });
    const poll = await ok<{ id: string }>(mod.command('poll.create', { event: 'expo', session: 'talk', kind: 'single', question: 'Which robot should we demo next?', options: ['Arm', 'Rover', 'Drone'], open: true }));
    const [p1, p2] = await Promise.all([person({ role: 'attendee', sub: 'att-1' }), person({ role: 'attendee', sub: 'att-2' })]);
    await ok(p1.command('poll.vote', { event: 'expo', poll: poll.id, options: ['2'] }));
    await ok(p2.command('poll.vote', { event: 'expo', poll: poll.id, options: ['3'] }));
    const asked = await ok<{ id: string }>(p1.command('qa.ask', { event: 'expo', session: 'talk', text: 'Can the rover climb stairs?' }));
    await ok(mod.command('qa.approve', { event: 'expo', id: asked.id }));
    await ok(mod.command('qa.pin', { event: 'expo', id: asked.id }));

    const page = await browser.newPage();
    await page.setViewportSize({ width: 1280, height: 720 });
    await signIn(page, hub.httpUrl, '/projector/expo/room/annex', await hub.token({ role: 'moderator', sub: 'mod-1', events: ['expo'] }));
    await expect.poll(() => page.getByTestId('projector-banner').innerText(), { timeout: 15_000 }).toBe('Overflow room · Robots on the show floor · live from Main hall');
    await expect.poll(() => page.getByTestId('projector-question').innerText(), { timeout: 15_000 }).toContain('Can the rover climb stairs?');
    await expect.poll(() => page.getByTestId('projector-poll').innerText(), { timeout: 15_000 }).toContain('Which robot should we demo next?');
    await screenshot(page, 'projector-overflow');
    // Room B's projector follows its own session, without the banner.
    await page.goto(`${hub.httpUrl}/projector/expo/room/room-b`);
    await page.getByTestId('projector').waitFor();
    expect(await page.getByTestId('projector-banner').count()).toBe(0);
    await page.close();

    // The audience's phone names the session as the agenda does, in the venue's time (the browser runs in UTC).
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await signIn(phone, hub.httpUrl, '/live/expo/talk', await hub.token({ role: 'attendee', sub: 'att-1', events: ['expo'] }));
    const talk = await sessionOf('talk');
    const venue = (iso: unknown) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(Date.parse(String(iso)));
    await expect.poll(() => phone.getByTestId('session-heading').innerText(), { timeout: 15_000 }).toBe(`Robots on the show floor · Main hall · ${venue(talk.startsAt)}–${venue(talk.endsAt)}`);
    expect(await phone.title()).toBe('Robots on the show floor · Expo 2026');
    await phone.getByText('Which robot should we demo next?').waitFor({ timeout: 15_000 });
    await screenshot(phone, 'audience-agenda-session');
    await phone.close();
  }, 90_000);

  it("shows the sponsored session's room and participation against the event's on the sponsor dashboard", async () => {
    const token = async (gate: string) => hub.token({ role: 'gate', events: ['expo'], gate, sub: `gate-${gate}` });
    const [north, bdoor] = await Promise.all([GateClient.connect(hub.port, 'expo', await token('north')), GateClient.connect(hub.port, 'expo', await token('bdoor'))]);
    gates.push(north, bdoor);
    // Four in the hall during the talk (two of them voted), two in room B during the side track (nobody took part).
    for (const code of ['T1', 'T2', 'T3', 'T4']) north.scan({ code, gate: 'north', at: Date.now() - 5 * minute });
    for (const code of ['T10', 'T11']) bdoor.scan({ code, gate: 'bdoor', at: Date.now() - 5 * minute });
    const deadline = Date.now() + 60_000;
    for (;;) {
      await hub.hub.analyticsRelay.drain();
      const res = await hub.api('/api/v1/events/expo/sessions/side/attendance', { claims: admin });
      const [talk, side] = await Promise.all([hub.api('/api/v1/events/expo/sessions/talk/attendance', { claims: admin }).then(async (r) => SessionAttendance.parse(await r.json())), res.json().then((b) => SessionAttendance.parse(b))]);
      if ((talk.unique === 4 && talk.participants === 2 && side.unique === 2) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    const page = await browser.newPage();
    await page.setViewportSize({ width: 1440, height: 1000 });
    await signIn(page, hub.httpUrl, '/sponsor/expo/acme', await hub.token({ role: 'sponsor', sub: 'rep', sponsor: 'acme', events: ['expo'] }));
    const panel = page.getByTestId('sponsor-attendance');
    // 2 of 4 in the talk took part; across the agenda 2 of 6 (nobody came to the June keynote).
    await expect.poll(() => panel.getByTestId('participation-sponsored').innerText(), { timeout: 20_000 }).toBe('50 %');
    expect(await panel.getByTestId('participation-event').innerText()).toBe('33 %');
    expect(await panel.getByTestId('attendance-average').innerText()).toBe('4');
    await expect.poll(() => panel.locator('tr[data-session=talk]').innerText()).toMatch(/Robots on the show floor\s+4\s+4\s+2\s+50 %/);
    await screenshot(page, 'sponsor-attendance');
    await page.close();
  }, 120_000);
});
