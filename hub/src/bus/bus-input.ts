import type { Retention } from './bus.ts';

// Checks on what callers hand the bus, shared by every implementation so they reject the same inputs the same way.

/**
 * Serialises message data, once. Rejects what JSON cannot carry (`undefined`, functions, symbols) instead of
 * letting it produce a frame that is not JSON.
 * @example const dataJson = encodeData({ text: 'Doors open' }); // '{"text":"Doors open"}'
 */
export function encodeData(data: unknown): string {
  const json = JSON.stringify(data);
  if (json === undefined) throw new TypeError(`bus message data must be JSON-serialisable, got ${typeof data}`);
  return json;
}

/**
 * `since` is a seq a client saw: a non-negative safe integer (0 = nothing seen yet).
 * @example assertSince(41); // ok; assertSince(-1) throws RangeError
 */
export function assertSince(since: number): void {
  if (!Number.isSafeInteger(since) || since < 0) throw new RangeError(`since must be a non-negative integer, got ${since}`);
}

/**
 * Retention must be whole, non-negative numbers, and its hard cap cannot be below the minimum it promises to keep.
 * @example assertRetention({ messages: 100, ms: 60_000, maxMessages: 1000, maxBytes: 1 << 20 }); // ok
 */
export function assertRetention(retention: Retention): void {
  for (const name of ['messages', 'ms', 'maxMessages', 'maxBytes'] as const) {
    const value = retention[name];
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`retention.${name} must be a non-negative integer, got ${value}`);
  }
  if (retention.maxMessages < Math.max(1, retention.messages)) {
    throw new RangeError(`retention.maxMessages (${retention.maxMessages}) must be at least 1 and at least retention.messages (${retention.messages})`);
  }
}
