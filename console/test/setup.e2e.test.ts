/**
 * Running an event without curl (issue 13), in chromium against a real hub: an admin creates an event with two zones
 * and two gates from the start page, uploads a 10,000-row roster with 3 bad rows (progress shown, 3 reasons listed,
 * rejected rows downloadable), edits the event while it runs, uploads consents; pairs a gate laptop by running the
 * command the console shows (a real edge agent, through `npm run edge`) and sees it online; searches a ticket,
 * revokes it and sees the agent answer `revoked`, un-revokes it; issues a ticket and prints it (label and A4 page
 * sizes checked in the PDF chromium prints); and reads it all back in the audit log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
let agent: { child: ChildProcess; url: string; output: () => string } | undefined;
const repoRoot = join(import.meta.dirname, '..', '..');

/** Runs a shell command (the console's pairing command) in its own process group, until it says where it listens. */
async function runAgentCommand(command: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn('sh', ['-c', command], { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not start in 60 s:\n${output}`)), 60_000);
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`the agent exited with ${code}:\n${output}`)));
  });
  return { child, url, output: () => output };
}

async function scanAt(url: string, code: string, dir: 'in' | 'out' = 'in'): Promise<string> {
  const res = await fetch(`${url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir }) });
  return ((await res.json()) as { verdict: string }).verdict;
}

beforeAll(async () => {
  await ensureConsoleBuild();
  hub = await startTestHub();
  browser = await launchBrowser();
  files = await mkdtemp(join(tmpdir(), 'opshub-setup-e2e-'));
  admin = await browser.newPage();
  await signIn(admin, hub.httpUrl, '/', await hub.token({ role: 'admin', sub: 'lead-kim', events: ['*'] }));
}, 240_000);

afterAll(async () => {
  if (agent?.child.pid) {
    try {
      process.kill(-agent.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((resolve) => (agent!.child.exitCode !== null ? resolve(null) : agent!.child.once('exit', resolve)));
  }
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

  it('pairs a gate laptop from the command the console shows, and sees it online', async () => {
    await admin.getByRole('navigation', { name: 'Event' }).getByRole('link', { name: 'Gates' }).click();
    await admin.waitForURL(/\/gates\/summit-2026$/);
    const north = admin.locator('[data-testid=gate-panel][data-gate=north]');
    await north.getByTestId('pair').click();
    const command = await north.getByTestId('pair-command').innerText();
    expect(command).toMatch(new RegExp(`^OPSHUB_TOKEN=\\S+ npm run edge -- --hub ws://127\\.0\\.0\\.1:${hub.port} --event summit-2026 --gate north --device d-\\S+$`));
    const device = await north.getByTestId('pairing').getAttribute('data-device');
    const token = /^OPSHUB_TOKEN=(\S+)/.exec(command)![1]!;
    agent = await runAgentCommand(`${command} --port 0 --data ${join(files, 'north-agent')}`);
    // The JWT went in the environment: npm's banner and the agent's own lines never show it.
    expect(agent.output()).toContain('> node edge-agent/bin/opshub-edge.js --hub ws://');
    expect(agent.output()).not.toContain(token);

    await north.locator('[data-testid=gate-online][data-online=true]').waitFor({ timeout: 20_000 });
    await admin.locator(`[data-testid=device][data-device="${device}"][data-state=online]`).waitFor({ timeout: 10_000 });
    await expect.poll(async () => ((await (await fetch(`${agent!.url}/status`)).json()) as { tickets: number }).tickets, { timeout: 20_000 }).toBe(9997);
    await screenshot(admin, 'setup-gates-paired');
    expect(browser.errors).toEqual([]);
  }, 120_000);

  it('searches a ticket, revokes it and the paired agent answers revoked; un-revokes it and the agent admits', async () => {
    expect(await scanAt(agent!.url, 'R00043')).toBe('admitted');
    await admin.getByRole('navigation', { name: 'Event' }).getByRole('link', { name: 'Tickets' }).click();
    await admin.waitForURL(/\/tickets\/summit-2026$/);
    await admin.getByTestId('ticket-q').fill('attendee 42');
    await admin.locator('[data-testid=ticket-result][data-code=R00042]').waitFor();
    await admin.getByTestId('ticket-q').fill('a43@example');
    await admin.locator('[data-testid=ticket-result][data-code=R00043] .tag.ok', { hasText: 'inside' }).waitFor();
    await screenshot(admin, 'setup-tickets-search');
    await admin.getByTestId('ticket-q').fill('R00042');
    await admin.locator('[data-testid=ticket-result][data-code=R00042] a').click();
    await admin.waitForURL(/\/tickets\/summit-2026\/R00042$/);
    await admin.getByTestId('no-scans').waitFor();
    await admin.getByTestId('revoke').click();
    await admin.getByTestId('revoke-yes').click();
    await admin.locator('[data-testid=ticket-status][data-status=revoked]').waitFor();
    // The hub wrote the revocation into the gate doc before answering; the agent's replica has it within moments.
    await expect.poll(() => scanAt(agent!.url, 'R00042'), { timeout: 10_000, interval: 200 }).toBe('revoked');
    await admin.getByRole('button', { name: 'Refresh' }).click();
    await admin.locator('[data-testid=ticket-scan]', { hasText: 'revoked' }).first().waitFor();
    expect(await admin.locator('[data-testid=ticket-scan]').first().innerText()).toContain('North gate');
    await screenshot(admin, 'setup-ticket-revoked');

    await admin.getByTestId('unrevoke').click();
    await admin.locator('[data-testid=ticket-status][data-status=valid]').waitFor();
    await expect.poll(() => scanAt(agent!.url, 'R00042'), { timeout: 10_000, interval: 200 }).toBe('admitted');
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('issues a ticket at the desk and prints it as a 62 × 100 mm badge and on A4, with the signed code as QR code', async () => {
    await admin.goto(`${hub.httpUrl}/tickets/summit-2026`);
    await admin.getByTestId('issue-holder').fill('Walk-in Wanda');
    await admin.getByTestId('issue-email').fill('wanda@example.org');
    await admin.getByTestId('issue-type').fill('speaker');
    await admin.getByTestId('issue-send').click();
    await admin.waitForURL(/\/tickets\/summit-2026\/T-[\w-]+\?issued=1$/);
    const code = await admin.getByTestId('ticket-code').innerText();
    const detail = (await (await hub.api(`/api/v1/events/summit-2026/tickets/${code}`, { claims: { role: 'admin', events: ['*'] } })).json()) as { token: string };
    expect(await admin.getByTestId('badge-qr').getAttribute('data-text')).toBe(detail.token);
    await screenshot(admin, 'setup-ticket-issued');
    // The signed code admits at the gate.
    expect(await scanAt(agent!.url, detail.token)).toBe('admitted');

    // window.print opens a dialog; the test stands in for it and prints to PDF with the page's own CSS page size.
    await admin.evaluate(() => {
      window.print = () => undefined;
    });
    const mediaBox = async () => {
      const pdf = (await admin.pdf({ preferCSSPageSize: true })).toString('latin1');
      const box = /\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/.exec(pdf)!;
      return [Number(box[1]) / 72 * 25.4, Number(box[2]) / 72 * 25.4].map((mm) => Math.round(mm));
    };
    await admin.getByTestId('print-label').click();
    expect(await mediaBox()).toEqual([62, 100]);
    await admin.emulateMedia({ media: 'print' });
    await admin.setViewportSize({ width: 234, height: 378 });
    await admin.screenshot({ path: (await screenshot(admin, 'setup-badge-label-screen')).replace('-screen', '') });
    await admin.setViewportSize({ width: 1600, height: 1000 });
    await admin.emulateMedia({ media: 'screen' });
    await admin.getByTestId('print-a4').click();
    expect(await mediaBox()).toEqual([210, 297]);
    await admin.emulateMedia({ media: 'print' });
    await admin.setViewportSize({ width: 794, height: 1123 });
    await admin.screenshot({ path: (await screenshot(admin, 'setup-badge-a4-screen')).replace('-screen', '') });
    await admin.setViewportSize({ width: 1600, height: 1000 });
    await admin.emulateMedia({ media: 'screen' });
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('reads it all back in the audit log, filtered, and exports it as CSV', async () => {
    await admin.goto(`${hub.httpUrl}/audit/summit-2026`);
    await admin.getByTestId('audit-row').first().waitFor();
    await admin.getByTestId('audit-action').fill('ticket.');
    await admin.getByTestId('audit-apply').click();
    await expect.poll(async () => (await admin.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))))).toEqual([
      'ticket.issue',
      'ticket.unrevoke',
      'ticket.revoke',
    ]);
    await admin.getByTestId('audit-target').fill('R00042');
    await admin.getByTestId('audit-apply').click();
    await expect.poll(() => admin.getByTestId('audit-row').count()).toBe(2);
    expect(await admin.getByTestId('audit-row').first().innerText()).toMatch(/lead-kim\s+admin\s+ticket\.unrevoke\s+R00042\s+status: revoked → valid/);
    await screenshot(admin, 'setup-audit');
    const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByTestId('audit-export').click()]);
    const lines = (await readFile(await download.path(), 'utf8')).replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('id,at,actor,role,action,target,before,after');
    expect(lines.slice(1).map((l) => l.split(',')[4])).toEqual(['ticket.unrevoke', 'ticket.revoke']);
    expect(browser.errors).toEqual([]);
  }, 60_000);
});
