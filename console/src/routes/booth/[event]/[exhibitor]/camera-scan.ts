/** The slice of the Shape Detection API the booth uses (Chrome on Android, Edge, Opera; not Safari or Firefox yet). */
interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
type BarcodeDetectorClass = new (options?: { formats?: string[] }) => BarcodeDetectorLike;

/** True when this browser can read barcodes from the camera by itself. */
export function cameraScanAvailable(): boolean {
  return typeof window !== 'undefined' && 'BarcodeDetector' in window && !!navigator.mediaDevices?.getUserMedia;
}

/**
 * Reads one badge from the back camera into `video`: resolves with the first code seen, or undefined when stopped.
 * Badges carry QR codes (the box office prints them) or Code 128; both are asked for.
 * @example const code = await scanOnce(videoElement, abort.signal);
 */
export async function scanOnce(video: HTMLVideoElement, signal: AbortSignal): Promise<string | undefined> {
  const Detector = (window as unknown as { BarcodeDetector: BarcodeDetectorClass }).BarcodeDetector;
  const detector = new Detector({ formats: ['qr_code', 'code_128', 'code_39', 'ean_13', 'pdf417', 'aztec', 'data_matrix'] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
  try {
    video.srcObject = stream;
    await video.play();
    while (!signal.aborted) {
      const found = await detector.detect(video).catch(() => []);
      const code = found.find((f) => f.rawValue.trim() !== '')?.rawValue.trim();
      if (code) return code;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return undefined;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}
