import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scanMac, verifyScanMac, type ScanRecord } from '../src/index.ts';

const scanKey = Buffer.alloc(32, 3).toString('base64url');
const scan: ScanRecord = { scanId: '0f9c2c1e-4b7a-4c59-9a31-1d2e3f4a5b6c', code: 'T-1001', gate: 'north', device: 'north-a1', dir: 'in', at: 1767261600000, verdict: 'admitted' };
const hmac = (text: string) => createHmac('sha256', Buffer.from(scanKey, 'base64url')).update(text).digest('base64url');

describe('scan MACs', () => {
  it('keeps the v1 text for an ordinary scan, so MACs made before the override was covered still verify', () => {
    const v1 = hmac('opshub/scan-mac/v1|0f9c2c1e-4b7a-4c59-9a31-1d2e3f4a5b6c|north|north-a1|in|1767261600000|admitted|T-1001');
    expect(scanMac(scanKey, scan)).toBe(v1);
    expect(verifyScanMac(scanKey, { ...scan, mac: v1 })).toBe(true);
  });

  it('covers the override flag: adding or removing it breaks the MAC', () => {
    const override = { ...scan, override: true as const };
    const overrideMac = scanMac(scanKey, override);
    expect(overrideMac).toBe(hmac('opshub/scan-mac/v2|0f9c2c1e-4b7a-4c59-9a31-1d2e3f4a5b6c|north|north-a1|in|1767261600000|admitted|override|T-1001'));
    expect(verifyScanMac(scanKey, { ...override, mac: overrideMac })).toBe(true);
    expect(verifyScanMac(scanKey, { ...scan, mac: overrideMac })).toBe(false);
    expect(verifyScanMac(scanKey, { ...override, mac: scanMac(scanKey, scan) })).toBe(false);
  });

  it('never gives an override scan the text of an ordinary one, whatever the code', () => {
    // v1 with code "override|T-1001" would read like an override in a text without version tags
    const sneaky = { ...scan, code: 'override|T-1001' };
    expect(scanMac(scanKey, sneaky)).not.toBe(scanMac(scanKey, { ...scan, override: true }));
  });
});
