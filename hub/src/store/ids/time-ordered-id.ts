import { randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that restarts at a random value each
 * millisecond and counts up within it, then 62 random bits. So ids made by one process sort (as text too, being
 * fixed-width lowercase hex) in the order they were made, even many within one millisecond: rows ordered by a
 * millisecond timestamp and then this id keep the order they were written in.
 *
 * @example timeOrderedId() < timeOrderedId(); // true
 */
export function timeOrderedId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    // Start low in the range, so a burst of thousands in one millisecond rarely runs out of counter.
    counter = randomBytes(2).readUInt16BE(0) & 0x1ff;
  } else if (++counter > 0xfff) {
    // 4,096 ids in one millisecond (or a clock that stepped back): borrow the next millisecond, never repeat an order.
    lastMs++;
    counter = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
