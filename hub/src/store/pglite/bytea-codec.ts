/**
 * bytea to and from PostgreSQL's hex text form, for PGlite. Why: PGlite's own codec turns every byte into a string
 * (`Array.from(bytes).map(toString(16))`) and back (`parseInt` per byte), all on the hub's one thread. A roster
 * import writes ~10 MB of Yjs updates; with PGlite's codec that alone held the event loop for seconds (issue #11).
 * Node's hex codec does the same work natively, about a hundred times faster.
 */

/** PostgreSQL's type oid of bytea. */
export const BYTEA_OID = 17;

/** `\x…` hex text for a parameter (PGlite sends parameters as text). */
export function serializeBytea(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new TypeError('a bytea parameter must be a Uint8Array');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
}

/** The bytes of a `\x…` hex text value (the only output format PostgreSQL uses by default, `bytea_output = hex`). */
export function parseBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x')) throw new Error('expected bytea in hex output format');
  const bytes = Buffer.from(text.slice(2), 'hex');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
