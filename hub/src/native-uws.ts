import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

const require = createRequire(import.meta.url);

/** The uWebSockets.js native binding did not load; the package's pure-JS fallback would be far too slow to run a hub on. */
export class NativeBindingError extends Error {
  override readonly name = 'NativeBindingError';
}

/**
 * Loads uWebSockets.js and refuses its silent pure-JS fallback.
 *
 * The `@trufflesuite/uws-js-unofficial` build we depend on (aliased as `uWebSockets.js`) falls back to a JS server
 * when no binary matches this Node ABI, or when UWS_USE_FALLBACK is set. Only the native binding exports `SSLApp`
 * and `getParts`, so their absence tells the two apart.
 */
export function loadNativeUws(): typeof Uws {
  const uws = require('uWebSockets.js') as typeof Uws;
  if (typeof uws.SSLApp !== 'function' || typeof uws.getParts !== 'function') {
    throw new NativeBindingError(
      `uWebSockets.js loaded its slow JavaScript fallback instead of the native binding ` +
        `(node ${process.version}, ABI ${process.versions.modules}, ${process.platform}-${process.arch}). ` +
        `The hub needs Node 20 on linux/darwin x64/arm64 and UWS_USE_FALLBACK unset; refusing to start.`,
    );
  }
  return uws;
}
