/**
 * Reads numeric fields out of a JSON frame without parsing it: a native byte search for the key, then the digits.
 * At hundreds of thousands of frames a second, JSON.parse of every frame would cost the client more CPU than the
 * server spends sending them, and the bench would measure its own clients.
 *
 * Handles what JSON.stringify writes for finite numbers in plain notation (`-12`, `1763683200123.4567`); NaN when
 * the key is absent or the value is not such a number.
 * @example numberAfter(Buffer.from('{"op":"msg","seq":42}'), keys.seq) // 42
 */
export function numberAfter(frame: Buffer, key: Buffer, from = 0): number {
  const at = frame.indexOf(key, from);
  return at < 0 ? Number.NaN : numberAt(frame, at + key.length);
}

/** Where the last {@link numberAt} stopped reading: the byte after the number. */
export let numberEnd = 0;

/**
 * The number starting at byte `i` (see {@link numberAfter}); sets {@link numberEnd}.
 * @example numberAt(Buffer.from('"n":42,'), 4) // 42, numberEnd === 6
 */
export function numberAt(frame: Buffer, i: number): number {
  const end = frame.length;
  let negative = false;
  if (frame[i] === 0x2d) {
    negative = true;
    i++;
  }
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = frame[i]! - 0x30;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
    digits++;
  }
  if (frame[i] === 0x2e) {
    let scale = 1;
    for (i++; i < end; i++) {
      const c = frame[i]! - 0x30;
      if (c < 0 || c > 9) break;
      scale /= 10;
      value += c * scale;
    }
  }
  numberEnd = i;
  if (digits === 0 || frame[i] === 0x65 || frame[i] === 0x45) return Number.NaN; // exponent: not ours
  return negative ? -value : value;
}

/**
 * `seq`, `t` and `n` of an opshub `msg` frame carrying a bench payload, with two byte searches: the payload is
 * `{"t":…,"n":…,…}`, so `n` follows `t` directly. NaN fields when the frame is not shaped so.
 * @example readMsg(frame); readMsg.seq; readMsg.t; readMsg.n
 */
export function readMsg(frame: Buffer): { seq: number; t: number; n: number } {
  msg.seq = numberAfter(frame, keys.seq);
  const at = frame.indexOf(keys.payload, numberEnd);
  msg.t = at < 0 ? Number.NaN : numberAt(frame, at + keys.payload.length);
  msg.n = frame.indexOf(keys.nNext, numberEnd) === numberEnd ? numberAt(frame, numberEnd + keys.nNext.length) : Number.NaN;
  return msg;
}
/** reused by every call: the hot path allocates nothing */
const msg = { seq: 0, t: 0, n: 0 };

/** The keys the bench reads. `"t":` cannot match inside `"ts":` or `"topic":`. */
export const keys = Object.freeze({
  seq: Buffer.from('"seq":'),
  t: Buffer.from('"t":'),
  n: Buffer.from('"n":'),
  payload: Buffer.from('"data":{"t":'),
  nNext: Buffer.from(',"n":'),
});

/** `{"op":"` is 7 bytes: the 8th names the op (`m`sg, `o`k, `e`rr, `r`eset, `p`ong). */
export const OP_BYTE = 7;
export const OP_MSG = 0x6d;
