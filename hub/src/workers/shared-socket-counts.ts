/** Slots in the table: 4 MiB of counters, so that identities share one only rarely (see below). */
const SLOTS = 1 << 20;

/**
 * Open sockets per identity, counted in memory every socket worker shares, so that the per-attendee socket cap is
 * decided at the upgrade (HTTP 429, as on one thread) even when one attendee's upgrades race through several
 * workers at once: a slot is taken with compare-and-swap, never by reading a count and writing it back.
 *
 * An identity's key is hashed to a slot. Two identities that share a slot share its cap, which can only refuse,
 * never admit too many; with a million slots that needs two flooding attendees to collide (about 1 % of 10,000
 * identities share a slot with some other, and ordinary attendees hold one or two sockets, far under the cap).
 */
export class SharedSocketCounts {
  readonly #slots: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT)) {
    this.#slots = new Int32Array(buffer);
  }

  /** Counts one more socket for `key`; false (and nothing counted) when it already holds `max`. */
  tryOpen(key: string, max: number): boolean {
    const slot = slotOf(key);
    for (;;) {
      const count = Atomics.load(this.#slots, slot);
      if (count >= max) return false;
      if (Atomics.compareExchange(this.#slots, slot, count, count + 1) === count) return true;
    }
  }

  closed(key: string): void {
    Atomics.sub(this.#slots, slotOf(key), 1);
  }
}

/** FNV-1a over the key's UTF-16 code units, folded to a slot. */
function slotOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & (SLOTS - 1);
}
