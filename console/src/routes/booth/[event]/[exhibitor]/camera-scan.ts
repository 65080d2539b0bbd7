import { frameDecoder } from './frame-decoder.ts';

/** True when this browser can show the camera (the decoder is the browser's own, or jsQR where it has none). */
export function cameraScanAvailable(): boolean {
  return typeof window !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;
}

/**
 * Reads one badge from the back camera into `video`: resolves with the first code seen, or undefined when stopped.
 * Frames are decoded by the browser's `BarcodeDetector` where it exists, else by jsQR (see `frame-decoder.ts`).
 * @example const code = await scanOnce(videoElement, abort.signal);
 */
export async function scanOnce(video: HTMLVideoElement, signal: AbortSignal): Promise<string | undefined> {
  const [decoder, stream] = await Promise.all([frameDecoder(), navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false })]);
  try {
    video.srcObject = stream;
    await video.play();
    while (!signal.aborted) {
      const code = await decoder.decode(video).catch(() => undefined);
      if (code) return code;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return undefined;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}
