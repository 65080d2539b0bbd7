import { encode } from 'uqr';
import { describe, expect, it } from 'vitest';
import { readQr } from '../src/routes/booth/[event]/[exhibitor]/frame-decoder.ts';

/**
 * The booth camera's fallback for browsers without `BarcodeDetector` (Safari, Firefox, desktop Chromium on Linux):
 * jsQR reading real QR codes, encoded by another library (uqr, the one the console prints tickets with) and drawn
 * into a camera-sized frame the way a phone sees a badge: off centre, on a grey background, with sensor noise.
 */
function frameWith(text: string, options: { invert?: boolean; scale?: number; width?: number; height?: number; at?: [number, number] } = {}): { rgba: Uint8ClampedArray; width: number; height: number } {
  const { scale = 5, width = 480, height = 360, at = [60, 40], invert = false } = options;
  const qr = encode(text, { border: 4, ecc: 'M' });
  const rgba = new Uint8ClampedArray(width * height * 4);
  // A deterministic noise source, so a failure can be replayed.
  let seed = 42;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 40;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const row = Math.floor((y - at[1]) / scale);
      const col = Math.floor((x - at[0]) / scale);
      const inside = row >= 0 && col >= 0 && row < qr.size && col < qr.size;
      const dark = inside ? qr.data[row]![col]! !== invert : false;
      const base = inside ? (dark ? 30 : 225) : 150;
      const v = base + noise();
      const i = (y * width + x) * 4;
      rgba[i] = v;
      rgba[i + 1] = v;
      rgba[i + 2] = v;
      rgba[i + 3] = 255;
    }
  }
  return { rgba, width, height };
}

describe('the booth camera without BarcodeDetector', () => {
  it('reads a badge QR code from a noisy, off-centre frame', async () => {
    const { rgba, width, height } = frameWith('OPS-A1001');
    expect(await readQr(rgba, width, height)).toBe('OPS-A1001');
  });

  it('reads a long signed ticket code and an inverted (dark mode) badge', async () => {
    const signed = `eyJhbGciOiJFZERTQSJ9.${'x'.repeat(180)}.${'s'.repeat(86)}`;
    const long = frameWith(signed, { scale: 3, width: 640, height: 480, at: [100, 60] });
    expect(await readQr(long.rgba, long.width, long.height)).toBe(signed);
    const inverted = frameWith('OPS-B2002', { invert: true, at: [200, 120] });
    expect(await readQr(inverted.rgba, inverted.width, inverted.height)).toBe('OPS-B2002');
  });

  it('sees nothing in a frame without a code', async () => {
    const width = 320;
    const height = 240;
    const grey = new Uint8ClampedArray(width * height * 4).fill(160);
    expect(await readQr(grey, width, height)).toBeUndefined();
  });
});
