/**
 * Reads numeric fields out of a JSON frame without parsing it: a native byte search for the key, then the digits.
 * At hundreds of thousands of frames a second, JSON.parse of every frame would cost the client more CPU than the
 * server spends sending them, and the bench would measure its own clients.
 *
 * Handles what JSON.stringify writes for finite numbers in plain notation (`-12`, `1763683200123.4567`); NaN when
 * the key is absent or the value is not such a number.
 * @example numberAfter(Buffer.from('{"op":"msg","seq":42}'), keys.seq) // 42
 */
export function numberAfter(frame: Buffer, key: Buffer, from = 0, end = frame.length): number {
  const at = keyAt(frame, key, from, end);
  return at < 0 ? Number.NaN : numberAt(frame, at + key.length, end);
}

/**
 * Where `key` starts within bytes [from, end) of `buf`, or -1. A frame may sit inside a larger read buffer (the lean
 * client parses frames in place), so a match that reaches past `end` belongs to the next frame and does not count;
 * `indexOf` returns the first match, so when that one reaches past `end` there is none inside.
 */
function keyAt(buf: Buffer, key: Buffer, from: number, end: number): number {
  const at = buf.indexOf(key, from);
  return at >= 0 && at + key.length <= end ? at : -1;
}

/** Where the last {@link numberAt} stopped reading: the byte after the number. */
export let numberEnd = 0;

/**
 * The number starting at byte `i` (see {@link numberAfter}); sets {@link numberEnd}.
 * @example numberAt(Buffer.from('"n":42,'), 4) // 42, numberEnd === 6
 */
export function numberAt(frame: Buffer, i: number, end = frame.length): number {
  let negative = false;
  if (i < end && frame[i] === 0x2d) {
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
  if (i < end && frame[i] === 0x2e) {
    let scale = 1;
    for (i++; i < end; i++) {
      const c = frame[i]! - 0x30;
      if (c < 0 || c > 9) break;
      scale /= 10;
      value += c * scale;
    }
  }
  numberEnd = i;
  if (digits === 0 || (i < end && (frame[i] === 0x65 || frame[i] === 0x45))) return Number.NaN; // exponent: not ours
  return negative ? -value : value;
}

/**
 * `seq`, `t` and `n` of an opshub `msg` frame carrying a bench payload. NaN fields when the frame is not shaped so.
 * The frame is bytes [start, end) of `frame` (the whole buffer by default). The result object is reused by every call.
 *
 * The hub writes `{"op":"msg","topic":…,"seq":…,"ts":…,"data":{"t":…,"n":…,…}}`: the fields are checked for where
 * that layout puts them (`"seq":` where it was in the previous frame, since one topic's frames share their prefix,
 * and each next key right behind the number before it), a few byte comparisons; only a frame laid out otherwise
 * pays for native searches (a call into C++ each, about 0.3 µs: as much as the rest of a delivery).
 * @example const { seq, t, n } = readMsg(frame);
 */
export function readMsg(frame: Buffer, start = 0, end = frame.length): { seq: number; t: number; n: number } {
  let at = start + layout.seqOffset;
  if (!matchesAt(frame, keys.seq, at, end)) {
    at = keyAt(frame, keys.seq, start, end);
    if (at >= 0) layout.seqOffset = at - start;
  }
  if (at < 0) {
    msg.seq = msg.t = msg.n = Number.NaN;
    return msg;
  }
  msg.seq = numberAt(frame, at + keys.seq.length, end);
  at = numberEnd;
  if (matchesAt(frame, keys.tsNext, at, end)) {
    numberAt(frame, at + keys.tsNext.length, end);
    at = matchesAt(frame, keys.payloadNext, numberEnd, end) ? numberEnd + 1 : keyAt(frame, keys.payload, numberEnd, end);
  } else {
    at = keyAt(frame, keys.payload, at, end);
  }
  msg.t = at < 0 ? Number.NaN : numberAt(frame, at + keys.payload.length, end);
  msg.n = at >= 0 && matchesAt(frame, keys.nNext, numberEnd, end) ? numberAt(frame, numberEnd + keys.nNext.length, end) : Number.NaN;
  return msg;
}
/** reused by every call: the hot path allocates nothing */
const msg = { seq: 0, t: 0, n: 0 };
/** where `"seq":` was in the last frame, relative to its start: a cache, so any value is safe */
const layout = { seqOffset: 0 };

/** Whether `key` is at byte `at` of `buf`, wholly before `end`. */
export function matchesAt(buf: Buffer, key: Buffer, at: number, end: number): boolean {
  if (at + key.length > end) return false;
  for (let k = 0; k < key.length; k++) if (buf[at + k] !== key[k]) return false;
  return true;
}

/** The keys the bench reads. `"t":` cannot match inside `"ts":` or `"topic":`. */
export const keys = Object.freeze({
  seq: Buffer.from('"seq":'),
  t: Buffer.from('"t":'),
  n: Buffer.from('"n":'),
  payload: Buffer.from('"data":{"t":'),
  tsNext: Buffer.from(',"ts":'),
  payloadNext: Buffer.from(',"data":{"t":'),
  nNext: Buffer.from(',"n":'),
});

/** `{"op":"` is 7 bytes: the 8th names the op (`m`sg, `o`k, `e`rr, `r`eset, `p`ong). */
export const OP_BYTE = 7;
export const OP_MSG = 0x6d;
