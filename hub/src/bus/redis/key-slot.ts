// Redis Cluster's key → slot mapping (the cluster specification): CRC16-CCITT (XMODEM) of the key's bytes, modulo
// 16384, where a non-empty `{…}` (the first `{` and the first `}` after it) hashes alone. The bus uses it to know which
// primary owns a topic's keys and sharded channel without asking the cluster.

export const slotCount = 16384;

const table = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  table[byte] = crc;
}

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ table[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/**
 * The cluster slot of a key or sharded channel name.
 * @example keySlot('opshub:{event/x/alerts}:seq') === keySlot('opshub:{event/x/alerts}:msg'); // true: same hash tag
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes, open + 1, close) % slotCount;
  }
  return crc16(bytes, 0, bytes.length) % slotCount;
}
