/**
 * Reads `seq` and `ts` out of one topic's frames without parsing `data`. A frame is built by `msgFrame()` (or the
 * Lua copy of it), so both numbers sit right after a prefix that is fixed per topic:
 * `{"op":"msg","topic":"event/x/alerts","seq":12,"ts":1718000000000,"data":…}`.
 * Anything that does not have that exact shape gets a full, validated `JSON.parse` instead.
 *
 * The results land in `seq` and `ts` rather than a returned object: this runs once per received message.
 *
 * @example
 * const reader = new FrameReader('event/x/alerts');
 * if (reader.read(frame)) deliver(reader.seq, reader.ts, frame);
 */
export class FrameReader {
  seq = 0;
  ts = 0;
  readonly #prefix: string;

  constructor(readonly topic: string, topicJson = JSON.stringify(topic)) {
    this.#prefix = `{"op":"msg","topic":${topicJson},"seq":`;
  }

  /** True when `frame` is a well-formed message frame for this topic; then `seq` and `ts` are set. */
  read(frame: string): boolean {
    if (frame.startsWith(this.#prefix)) {
      const seqStart = this.#prefix.length;
      const seqEnd = digitsEnd(frame, seqStart);
      if (seqEnd > seqStart && frame.startsWith(',"ts":', seqEnd)) {
        const tsStart = seqEnd + 6;
        const tsEnd = digitsEnd(frame, tsStart);
        // data itself is not inspected (it was serialised by JSON.stringify), only that the frame closes after it.
        if (tsEnd > tsStart && frame.startsWith(',"data":', tsEnd) && frame.length > tsEnd + 9 && frame.endsWith('}')) {
          this.seq = digitsValue(frame, seqStart, seqEnd);
          this.ts = digitsValue(frame, tsStart, tsEnd);
          return this.seq > 0;
        }
      }
    }
    return this.#readSlowly(frame);
  }

  #readSlowly(frame: string): boolean {
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame);
    } catch {
      return false;
    }
    if (typeof parsed !== 'object' || parsed === null) return false;
    const { op, topic, seq, ts } = parsed as Record<string, unknown>;
    if (op !== 'msg' || topic !== this.topic || !Number.isSafeInteger(seq) || !Number.isSafeInteger(ts)) return false;
    if ((seq as number) < 1 || !('data' in parsed)) return false;
    this.seq = seq as number;
    this.ts = ts as number;
    return true;
  }
}

// 15 digits keep every value a safe integer; longer runs are not ours and go to the slow path.
const maxDigits = 15;

function digitsEnd(text: string, start: number): number {
  let i = start;
  const limit = Math.min(text.length, start + maxDigits + 1);
  while (i < limit) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  return i - start > maxDigits ? start : i;
}

function digitsValue(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + (text.charCodeAt(i) - 48);
  return value;
}
