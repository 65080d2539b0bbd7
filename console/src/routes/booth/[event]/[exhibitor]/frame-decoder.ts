/** The slice of the Shape Detection API the booth uses (Chrome on Android, Edge, Opera; not Safari or Firefox yet). */
interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
type BarcodeDetectorClass = (new (options?: { formats?: string[] }) => BarcodeDetectorLike) & { getSupportedFormats?: () => Promise<string[]> };

/** Reads the first badge code in one camera frame (or image), or undefined when it sees none. */
export interface FrameDecoder {
  readonly kind: 'barcode-detector' | 'jsqr';
  decode(source: HTMLVideoElement | HTMLImageElement | HTMLCanvasElement): Promise<string | undefined>;
}

/** Badges carry QR codes (the box office prints them) or Code 128; the browser's detector is asked for these. */
const formats = ['qr_code', 'code_128', 'code_39', 'ean_13', 'pdf417', 'aztec', 'data_matrix'];

/**
 * The browser's own `BarcodeDetector` where it exists and reads QR codes; otherwise jsQR (a pure-JS QR decoder from
 * npm), imported only now, so phones that have a detector never download it and the booth app's first paint does
 * not wait for it. jsQR reads QR codes only: badges printed by the box office are QR.
 * @example const decoder = await frameDecoder(); const code = await decoder.decode(video);
 */
export async function frameDecoder(options: { preferNative?: boolean } = {}): Promise<FrameDecoder> {
  const Native = (globalThis as unknown as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
  if (Native && options.preferNative !== false) {
    const supported = await Native.getSupportedFormats?.().catch(() => [] as string[]);
    if (!supported || supported.includes('qr_code')) {
      const detector = new Native({ formats: supported ? formats.filter((f) => supported.includes(f)) : formats });
      return {
        kind: 'barcode-detector',
        async decode(source) {
          const found = await detector.detect(source).catch(() => []);
          return found.find((f) => f.rawValue.trim() !== '')?.rawValue.trim();
        },
      };
    }
  }
  await loadJsQr();
  let canvas: HTMLCanvasElement | undefined;
  return {
    kind: 'jsqr',
    async decode(source) {
      const width = source instanceof HTMLVideoElement ? source.videoWidth : source.width;
      const height = source instanceof HTMLVideoElement ? source.videoHeight : source.height;
      if (!width || !height) return undefined;
      canvas ??= document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      if (!context) return undefined;
      context.drawImage(source, 0, 0, width, height);
      return readQr(context.getImageData(0, 0, width, height).data, width, height);
    },
  };
}

let jsQrModule: Promise<typeof import('jsqr').default> | undefined;
/** jsQR, fetched on first use (a chunk of its own in the build; the booth's service worker keeps it for offline use). */
function loadJsQr(): Promise<typeof import('jsqr').default> {
  jsQrModule ??= import('jsqr').then((m) => m.default);
  return jsQrModule;
}

/**
 * The fallback's decode step: the first QR code in an RGBA image (as `ImageData.data` holds it), or undefined.
 * @example await readQr(context.getImageData(0, 0, w, h).data, w, h) // 'A-1001'
 */
export async function readQr(rgba: Uint8ClampedArray, width: number, height: number): Promise<string | undefined> {
  const jsQR = await loadJsQr();
  // Badges are dark on light; `attemptBoth` also reads an inverted one (a dark-mode badge on a phone screen).
  const found = jsQR(rgba, width, height, { inversionAttempts: 'attemptBoth' });
  const code = found?.data.trim();
  return code ? code : undefined;
}
