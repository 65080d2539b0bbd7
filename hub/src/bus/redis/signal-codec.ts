/**
 * The envelope of a signal on the wire: `[id length: u8][node id, UTF-8][payload]`. The sender's id comes first so
 * a node recognises its own echo by comparing a few bytes, without copying or decoding the payload.
 */
export class SignalCodec {
  readonly #id: Buffer;

  constructor(nodeId: string) {
    this.#id = Buffer.from(nodeId, 'utf8');
    if (this.#id.length === 0 || this.#id.length > 255) throw new RangeError(`a node id must be 1 to 255 bytes, got ${this.#id.length}`);
  }

  /**
   * @example redis.publish(channel, codec.encode(update));
   */
  encode(payload: Uint8Array): Buffer {
    const id = this.#id;
    const out = Buffer.allocUnsafe(1 + id.length + payload.byteLength);
    out[0] = id.length;
    id.copy(out, 1);
    out.set(payload, 1 + id.length);
    return out;
  }

  /**
   * The sender and payload of a signal from another node; undefined for this node's own echo or a malformed
   * envelope. `payload` is a view into `message`, not a copy.
   * @example const signal = codec.decode(message); if (signal) listener(signal.payload, signal.from);
   */
  decode(message: Buffer): { from: string; payload: Uint8Array } | undefined {
    const idLength = message[0];
    if (idLength === undefined || idLength === 0 || message.length < 1 + idLength) return undefined;
    if (idLength === this.#id.length && message.compare(this.#id, 0, idLength, 1, 1 + idLength) === 0) return undefined;
    return { from: message.toString('utf8', 1, 1 + idLength), payload: message.subarray(1 + idLength) };
  }
}
