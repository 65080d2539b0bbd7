/**
 * Running an event without curl (issue 13), in chromium against a real hub: an admin creates an event with two zones
 * and two gates from the start page, uploads a 10,000-row roster with 3 bad rows (progress shown, 3 reasons listed,
 * rejected rows downloadable), edits the event while it runs, and uploads consents.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../hub/test/support/test-hub.ts';
import { ensureConsoleBuild } from '../scripts/ensure-build.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { screenshot, signIn } from './support/console-fixture.ts';

let hub: TestHub;
let browser: TestBrowser;
let admin: Page;
let files: string;

beforeAll(async () => {
  await ensureConsoleBuild();
  hub = await startTestHub();
  browser = await launchBrowser();
  files = await mkdtemp(join(tmpdir(), 'opshub-setup-e2e-'));
  admin = await browser.newPage();
  await signIn(admin, hub.httpUrl, '/', await hub.token({ role: 'admin', sub: 'lead-kim', events: ['*'] }));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  if (files) await rm(files, { recursive: true, force: true });
});

/** 10,000 rows; rows 17, 4,242 and 9,999 are bad (an unknown zone, a bad email, a repeated code). */
function roster(): string {
  const lines = ['code,holder,email,type,zones'];
  for (let i = 1; i <= 10_000; i++) {
    const code = `R${String(i).padStart(5, '0')}`;
    if (i === 17) lines.push(`${code},Row Seventeen,r17@example.org,general,moon`);
    else if (i === 4242) lines.push(`${code},"Lima, Ana",not-an-email,vip,`);
    else if (i === 9999) lines.push(`R00001,Second R1,dup@example.org,general,`);
    else lines.push(`${code},Attendee ${i},a${i}@example.org,${i % 10 === 0 ? 'vip' : 'general'},${i % 10 === 0 ? 'hall;lounge' : ''}`);
  }
  return lines.join('\r\n') + '\r\n';
}

describe('set-up in the console', () => {
  it('creates an event with two zones and two gates from the start page', async () => {
    await admin.getByRole('heading', { name: 'Events' }).waitFor();
    await admin.locator('.empty', { hasText: 'No events yet' }).waitFor();
    await screenshot(admin, 'setup-start-empty');
    await admin.getByTestId('new-event').click();
    await admin.waitForURL(/\/events\/new$/);
    await admin.getByTestId('event-name').fill('Summit 2026');
    expect(await admin.getByTestId('event-id').inputValue()).toBe('summit-2026');
    await admin.getByTestId('event-timezone').fill('Europe/Lisbon');
    // Rename the suggested zone and gate, then add a second of each.
    await admin.getByTestId('zone-name').first().fill('Hall');
    await admin.getByTestId('zone-id').first().fill('hall');
    await admin.getByTestId('zone-capacity').first().fill('8000');
    await admin.getByTestId('add-zone').click();
    await admin.getByTestId('zone-name').nth(1).fill('Lounge');
    expect(await admin.getByTestId('zone-id').nth(1).inputValue()).toBe('lounge');
    await admin.getByTestId('zone-capacity').nth(1).fill('300');
    await admin.getByTestId('gate-name').first().fill('North gate');
    await admin.getByTestId('gate-id').first().fill('north');
    await admin.getByTestId('gate-zone').first().selectOption('hall');
    await admin.getByTestId('add-gate').click();
    await admin.getByTestId('gate-name').nth(1).fill('Lounge door');
    await admin.getByTestId('gate-zone').nth(1).selectOption('lounge');
    await screenshot(admin, 'setup-new-event');
    await admin.getByTestId('save-event').click();
    await admin.waitForURL(/\/events\/summit-2026\?created=1$/);
    await admin.getByTestId('created').waitFor();

    const event = (await (await hub.api('/api/v1/events/summit-2026', { claims: { role: 'admin', events: ['*'] } })).json()) as Record<string, unknown>;
    expect(event).toMatchObject({
      name: 'Summit 2026',
      timezone: 'Europe/Lisbon',
      zones: [
        { id: 'hall', name: 'Hall', capacity: 8000 },
        { id: 'lounge', name: 'Lounge', capacity: 300 },
      ],
      gates: [
        { id: 'lounge-door', name: 'Lounge door', zone: 'lounge' },
        { id: 'north', name: 'North gate', zone: 'hall' },
      ],
    });
  }, 60_000);

  it('uploads a 10,000-row roster in chunks with progress, lists the 3 rejected rows with reasons and offers them as CSV', async () => {
    const file = join(files, 'roster.csv');
    await writeFile(file, roster());
    await admin.getByTestId('roster-file').setInputFiles(file);
    await admin.getByTestId('roster-send').click();
    // Progress moves through the chunks (the bar is seen part-way, not just at the end).
    await admin.locator('[data-testid=roster-progress][data-total="10000"]').waitFor();
    await admin.locator('[data-testid=roster-upload][data-phase=done]').waitFor({ timeout: 60_000 });
    expect(await admin.getByTestId('roster-progress').getAttribute('data-sent')).toBe('10000');
    expect(await admin.getByTestId('roster-figures').innerText()).toMatch(/10,000 of 10,000 rows \(100 %\) · 9,997 accepted · 3 rejected/);
    const rows = admin.getByTestId('roster-rejected-row');
    expect(await rows.count()).toBe(3);
    const texts = await rows.allInnerTexts();
    expect(texts[0]).toMatch(/^17\s+unknown zone "moon" for event "summit-2026"/);
    expect(texts[1]).toMatch(/^4,242\s+email: Invalid email address/);
    expect(texts[2]).toMatch(/^9,999\s+duplicate code "R00001" \(first in row 1\)/);
    await screenshot(admin, 'setup-roster-uploaded');

    const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByTestId('roster-download').click()]);
    const csv = await readFile(await download.path(), 'utf8');
    expect(csv.replace(/^\uFEFF/, '').split('\r\n')).toEqual([
      'row,reason,code,holder,email,type,zones',
      '17,"unknown zone ""moon"" for event ""summit-2026""",R00017,Row Seventeen,r17@example.org,general,moon',
      '4242,email: Invalid email address,R04242,"Lima, Ana",not-an-email,vip,',
      '9999,"duplicate code ""R00001"" (first in row 1)",R00001,Second R1,dup@example.org,general,',
      '',
    ]);
    const summary = (await (await hub.api('/api/v1/events/summit-2026/checkins/summary', { claims: { role: 'admin', events: ['*'] } })).json()) as { registered: number };
    expect(summary.registered).toBe(9997);
  }, 120_000);

  it('edits the running event', async () => {
    await admin.getByTestId('zone-capacity').nth(1).fill('350');
    await admin.getByTestId('save-event').click();
    await admin.getByTestId('editor-saved').waitFor();
    const event = (await (await hub.api('/api/v1/events/summit-2026', { claims: { role: 'admin', events: ['*'] } })).json()) as { zones: { capacity: number }[] };
    expect(event.zones[1]?.capacity).toBe(350);
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('uploads consents the same way', async () => {
    const file = join(files, 'consents.csv');
    await writeFile(file, 'code,fields\nR00002,name;email\nR00003,name\nNOPE-1,name\nR00004,name;phone\n');
    await admin.getByTestId('consents-file').setInputFiles(file);
    await admin.getByTestId('consents-send').click();
    await admin.locator('[data-testid=consents-upload][data-phase=done]').waitFor();
    expect(await admin.getByTestId('consents-figures').innerText()).toMatch(/4 of 4 rows \(100 %\) · 2 accepted · 2 rejected/);
    const reasons = await admin.getByTestId('consents-rejected-row').allInnerTexts();
    expect(reasons.map((r) => r.split(/\s+/)[0])).toEqual(['3', '4']);
    await screenshot(admin, 'setup-consents-uploaded');
    expect(browser.errors).toEqual([]);
  }, 60_000);
});
