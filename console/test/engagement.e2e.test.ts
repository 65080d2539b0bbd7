/**
 * Issue 5's pages in Debian's chromium against a real hub (in this process, port 0) serving the real build: an
 * attendee joins with the event's code on a phone-sized screen, votes and asks; the moderator page approves and pins
 * the question; the projector view shows the pinned question and the live poll results; chat outcomes (masked,
 * muted) reach the attendee in words.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { connectionState, screenshot, signIn } from './support/console-fixture.ts';
import { useHubAndBrowser } from './support/hub-and-browser.ts';

const setup = useHubAndBrowser();

const session = 'keynote';
const question = 'How does the hub keep poll totals exact across processes?';

/** The role in the token the page signed in with (decoded, as the console does). */
const roleIn = (page: Page) =>
  page.evaluate(() => {
    const token = sessionStorage.getItem('opshub.token') ?? '';
    return (JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { role: string; sub: string });
  });

/** A tab with this origin's storage emptied, so a join starts from nothing (tabs share localStorage). */
async function freshPhone(): Promise<Page> {
  const page = await setup.browser.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${setup.hub.httpUrl}/`);
  await page.evaluate(() => localStorage.clear());
  return page;
}

describe('audience, moderator and projector pages', () => {
  it('an attendee joins with a code, votes and asks; the moderator approves and pins; the projector shows both', async () => {
    // The moderator opens the session and creates a poll.
    const mod = await setup.browser.newPage();
    await signIn(mod, setup.hub.httpUrl, `/moderate/expo/${session}`, await setup.hub.token({ role: 'moderator', sub: 'mod-ana' }));
    await connectionState(mod, 'live');
    const code = (await mod.getByTestId('join-code').textContent())?.trim() ?? '';
    expect(code).toMatch(/^[A-Z0-9]{6}$/);
    expect(await mod.getByTestId('join-link').textContent()).toBe(`${setup.hub.httpUrl}/live/expo/${session}?code=${code}`);
    await mod.getByLabel('Question', { exact: true }).fill('Which language should we learn next?');
    await mod.getByLabel(/Options, one per line/).fill('Rust\nGo\nZig');
    await mod.getByRole('button', { name: 'Create and open' }).click();
    await mod.locator('[data-testid=mod-poll][data-status=open]').waitFor();

    // An attendee follows a join link with a mistyped code: told so, types the right one (keyboard only), and is in.
    const phone = await freshPhone();
    await phone.goto(`${setup.hub.httpUrl}/live/expo/${session}?code=WRONG1`);
    await phone.getByTestId('join-error').filter({ hasText: 'does not open this event' }).waitFor();
    await phone.getByLabel('Join code').fill(`${code.slice(0, 3).toLowerCase()}-${code.slice(3)}`);
    await phone.keyboard.press('Enter');
    await phone.getByTestId('audience-page').waitFor();
    await phone.waitForURL((url) => url.pathname === `/live/expo/${session}` && !url.searchParams.has('code'));
    await connectionState(phone, 'live');
    const attendee = await roleIn(phone);
    expect(attendee.role).toBe('attendee');
    expect(attendee.sub).toMatch(/^att-/);
    // Navigation offers an attendee the audience page, never moderation.
    expect(await phone.getByRole('navigation', { name: 'Event' }).getByRole('link').allInnerTexts()).toEqual(['Announcements', 'Audience']);

    await phone.getByLabel(/Your name/).fill('Dana');
    await phone.keyboard.press('Tab');
    const poll = phone.getByTestId('audience-poll');
    await poll.getByRole('radio', { name: 'Go' }).check();
    await poll.getByRole('button', { name: 'Vote' }).click();
    await phone.getByTestId('my-vote').filter({ hasText: 'Go' }).waitFor();
    await phone.getByTestId('audience-results').filter({ hasText: '1 vote' }).waitFor();

    await phone.getByLabel('Your question').fill(question);
    await phone.getByRole('button', { name: 'Ask' }).click();
    await phone.getByTestId('ask-notice').filter({ hasText: 'A moderator will review it' }).waitFor();
    await phone.getByTestId('my-pending-question').filter({ hasText: question }).waitFor();
    // Pre-moderated: not in the public list.
    expect(await phone.getByTestId('audience-question').count()).toBe(0);

    // The moderator sees it waiting, with the live result of the vote, and approves and pins it.
    const pending = mod.locator('[data-testid=mod-question][data-status=pending]', { hasText: question });
    await pending.waitFor();
    await expect.poll(() => mod.locator('[data-testid=mod-poll]').getByTestId('vote-count').textContent()).toBe('1 vote');
    expect(await pending.getByText('Dana ·').count()).toBe(1);
    await pending.getByRole('button', { name: 'Approve' }).click();
    const approved = mod.locator('[data-testid=mod-question][data-status=approved]', { hasText: question });
    await approved.getByRole('button', { name: 'Pin' }).click();
    await approved.getByText('pinned').waitFor();

    // The attendee now sees it, marked as on screen, and upvotes it.
    const shown = phone.getByTestId('audience-question').filter({ hasText: question });
    await shown.getByText('on screen now').waitFor();
    await expect.poll(() => phone.getByTestId('my-pending-question').count()).toBe(0);
    await shown.getByTestId('upvote').click();
    await expect.poll(() => shown.getByTestId('upvote').getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => shown.getByTestId('upvote').textContent()).toContain('1');

    // The projector: no controls, the pinned question and the poll's live results, and how to join.
    const projector = await setup.browser.newPage();
    await projector.setViewportSize({ width: 1920, height: 1080 });
    await signIn(projector, setup.hub.httpUrl, `/projector/expo/${session}`, await setup.hub.token({ role: 'staff', sub: 'av-desk' }));
    await projector.getByTestId('projector-question').filter({ hasText: question }).waitFor();
    await projector.getByTestId('projector-question').getByText('Dana').waitFor();
    const results = projector.getByTestId('projector-poll');
    await results.getByTestId('vote-count').filter({ hasText: '1 vote' }).waitFor();
    expect(await results.getByTestId('results-table').locator('tr').allInnerTexts()).toEqual(['Rust\t0', 'Go\t1', 'Zig\t0']);
    expect(await projector.getByTestId('projector-join').textContent()).toContain(code);
    expect(await projector.getByRole('navigation').count()).toBe(0);
    expect(await projector.getByRole('button').count()).toBe(0);

    // A word cloud opened by the moderator takes over the projector, and a second attendee's word appears live.
    await mod.getByLabel('Kind').selectOption('wordcloud');
    await mod.getByLabel('Question', { exact: true }).fill('One word for this keynote?');
    await mod.getByRole('button', { name: 'Create and open' }).click();
    await results.getByRole('paragraph').filter({ hasText: 'One word for this keynote?' }).waitFor();
    const second = await freshPhone();
    await second.goto(`${setup.hub.httpUrl}/live/expo/${session}?code=${code}`);
    await second.getByTestId('audience-page').waitFor();
    const cloud = second.getByTestId('audience-poll').filter({ hasText: 'One word for this keynote?' });
    await cloud.getByLabel('Word 1').fill('  Inspiring ');
    await cloud.getByRole('button', { name: 'Vote' }).click();
    await second.getByTestId('my-vote').filter({ hasText: 'inspiring' }).waitFor();
    await results.getByTestId('word-cloud').locator('text', { hasText: 'inspiring' }).waitFor();
    // The first attendee still has their own identity (and its vote) after the second joined.
    expect((await roleIn(second)).sub).not.toBe(attendee.sub);

    await phone.reload();
    await phone.getByTestId('audience-page').waitFor();
    await screenshot(phone, 'engagement-audience-phone');
    await screenshot(projector, 'engagement-projector');

    // Chat: a filtered word is masked and the attendee told; a mute is refused in words.
    await phone.getByLabel('Message', { exact: true }).fill('Hello room, this is damn good');
    await phone.keyboard.press('Enter');
    await phone.getByTestId('chat-outcome').filter({ hasText: 'some words hidden' }).waitFor();
    await phone.getByTestId('chat-message').filter({ hasText: 'Hello room' }).getByText('filtered').waitFor();
    const sent = mod.getByTestId('mod-chat-message').filter({ hasText: 'Hello room' });
    await sent.getByText('As sent: “Hello room, this is damn good”').waitFor();
    await sent.getByRole('button', { name: 'Mute sender…' }).click();
    await sent.getByLabel('For').selectOption('300');
    await sent.getByRole('button', { name: 'Mute', exact: true }).click();
    await mod.getByRole('list', { name: 'Muted users' }).getByText(attendee.sub).waitFor();
    await phone.getByLabel('Message', { exact: true }).fill('Can I still talk?');
    await phone.keyboard.press('Enter');
    await phone.getByTestId('chat-outcome').filter({ hasText: /You are muted by a moderator until \d\d:\d\d \(about 5 min\)/ }).waitFor();

    await mod.setViewportSize({ width: 1600, height: 1400 });
    await screenshot(mod, 'engagement-moderator');
    expect(setup.browser.errors).toEqual([]);
    for (const page of [mod, phone, second, projector]) await page.close();
  });

  it('keeps attendees out of the moderator page and projector', async () => {
    const page = await setup.browser.newPage();
    await signIn(page, setup.hub.httpUrl, `/moderate/expo/${session}`, await setup.hub.token({ role: 'attendee' }));
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    await page.goto(`${setup.hub.httpUrl}/projector/expo/${session}`);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    await page.close();
  });
});

