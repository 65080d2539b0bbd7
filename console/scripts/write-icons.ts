/**
 * Renders the audience app's icons (console/static/icons/*.png) from the favicon's drawing with Debian's chromium:
 * `npx tsx console/scripts/write-icons.ts`. Run it when the logo changes; the PNGs are committed. Android and
 * Chrome want PNGs of 192 and 512 px, a "maskable" one whose drawing keeps to the middle 80 % (launchers cut it to
 * a circle or squircle), and a monochrome badge for the status bar (only its alpha channel is used).
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const out = fileURLToPath(new URL('../static/icons/', import.meta.url));
const line = 'M6 22 L12 12 L17 18 L21 9 L26 22';
const svg = (body: string) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="100%" height="100%">${body}</svg>`;
const stroke = (colour: string) => `<path d="${line}" fill="none" stroke="${colour}" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>`;

const icons: { file: string; size: number; body: string }[] = [
  { file: 'icon-192.png', size: 192, body: `<rect width="32" height="32" rx="6" fill="#0b1220"/>${stroke('#ffd23f')}` },
  { file: 'icon-512.png', size: 512, body: `<rect width="32" height="32" rx="6" fill="#0b1220"/>${stroke('#ffd23f')}` },
  // Full bleed, drawing scaled into the safe zone.
  { file: 'icon-maskable-512.png', size: 512, body: `<rect width="32" height="32" fill="#0b1220"/><g transform="translate(6.4 6.4) scale(0.6)">${stroke('#ffd23f')}</g>` },
  { file: 'badge-96.png', size: 96, body: stroke('#ffffff') },
];

await mkdir(out, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  for (const icon of icons) {
    const page = await browser.newPage({ viewport: { width: icon.size, height: icon.size } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg(icon.body)}</body></html>`);
    await page.screenshot({ path: `${out}${icon.file}`, omitBackground: true });
    await page.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(`wrote ${icons.map((i) => i.file).join(', ')} to ${out}\n`);
