import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Which client a request came from, when the hub may sit behind reverse proxies (`TRUSTED_PROXIES`).
 *
 * The socket's peer is the client unless it is a trusted proxy. Then the client is read from `X-Forwarded-For`, walked
 * from the right: each proxy appends the address it received the request from, so the entries on the right were
 * written by proxies we trust and the ones on the left by whoever sent the request (anybody can put anything there).
 * The first entry from the right that is not a trusted proxy is the client; entries left of it are never looked at,
 * so a client cannot choose its own address by sending the header itself.
 *
 * An entry that is not an address (`unknown`, an obfuscated name, garbage) ends the walk, and the trusted hop that
 * reported it stands in for the client: for a per-address limit, lumping unknown clients together under their proxy is
 * the safe mistake, keying them by a string they may have written is not. A trusted proxy that sends no header is
 * itself the client (its health checks).
 *
 * @example
 * const proxies = new TrustedProxies(['10.0.0.0/8']);
 * proxies.clientAddress('10.0.0.5', '203.0.113.9, 198.51.100.7') // '198.51.100.7'
 * proxies.clientAddress('192.0.2.1', '198.51.100.7')              // '192.0.2.1': not a proxy, the header is ignored
 */
export class TrustedProxies {
  readonly #ranges = new BlockList();
  /** the ranges as given to the constructor, canonical (`10.0.0.0/8`, `fd00::/8`) */
  readonly ranges: readonly string[];

  /** @throws {InvalidAddressRangeError} for an entry that is not an address or CIDR range */
  constructor(ranges: readonly string[] = []) {
    this.ranges = ranges.map((entry) => {
      const range = parseAddressRange(entry);
      if (!range) throw new InvalidAddressRangeError(entry);
      this.#ranges.addSubnet(range.address, range.prefix, range.family);
      return `${range.address}/${range.prefix}`;
    });
  }

  /** True when `address` (canonical, as {@link canonicalAddress} gives) is inside one of the trusted ranges. */
  has(address: string): boolean {
    if (this.ranges.length === 0) return false;
    if (isIPv4(address)) return this.#ranges.check(address, 'ipv4');
    if (isIPv6(address)) return this.#ranges.check(address, 'ipv6');
    return false;
  }

  /**
   * The client's address: `socketAddress` itself, unless it is a trusted proxy and `forwardedFor` (every
   * `X-Forwarded-For` line in order, comma-joined) names someone further out.
   */
  clientAddress(socketAddress: string, forwardedFor: string): string {
    if (!this.has(socketAddress)) return socketAddress;
    const hops = forwardedFor.split(',');
    let nearest = socketAddress;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hopAddress(hops[i]!);
      if (hop === undefined) return nearest;
      if (!this.has(hop)) return hop;
      nearest = hop;
    }
    // Every hop is a trusted proxy: the furthest one is as far out as anything we can believe.
    return nearest;
  }
}

/** A `TRUSTED_PROXIES` entry that is neither an IP address nor a CIDR range. */
export class InvalidAddressRangeError extends Error {
  override readonly name = 'InvalidAddressRangeError';
  constructor(readonly entry: string) {
    super(`"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)`);
  }
}

export interface AddressRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Parses `10.0.0.5`, `10.0.0.0/8`, `2001:db8::1` or `2001:db8::/32` (a bare address is a range of one); undefined for
 * anything else, including a prefix longer than the family allows. Host bits under the prefix are allowed and ignored.
 * @example parseAddressRange('fd00::/8') // { address: 'fd00::', prefix: 8, family: 'ipv6' }
 */
export function parseAddressRange(entry: string): AddressRange | undefined {
  const match = /^([^/]+?)(?:\/(\d{1,3}))?$/.exec(entry.trim());
  if (!match) return undefined;
  const text = match[1]!;
  const family = isIPv4(text) ? 'ipv4' : isIPv6(text) && !text.includes('%') ? 'ipv6' : undefined;
  if (!family) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = match[2] === undefined ? max : Number(match[2]);
  if (prefix > max) return undefined;
  // Kept in the family it was written in: BlockList matches IPv4 addresses against IPv4-mapped IPv6 ranges itself.
  return { address: family === 'ipv4' ? text : ipv6Text(text), prefix, family };
}

/**
 * One address in one spelling, so that a limit keyed by it cannot be dodged by writing it differently: IPv4 dotted,
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports for an IPv4 peer) as the IPv4 address, other
 * IPv6 in RFC 5952 form (lower case, zeros compressed), without a zone. Undefined when `text` is not an address.
 * @example canonicalAddress('0000:0000:0000:0000:0000:ffff:7f00:0001') // '127.0.0.1'
 */
export function canonicalAddress(text: string): string | undefined {
  if (isIPv4(text)) return text;
  const bare = text.replace(/%.*$/, '');
  if (!isIPv6(bare)) return undefined;
  const canonical = ipv6Text(bare);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The text of a peer address as uWS hands it over (`res.getRemoteAddress()`: 4 or 16 bytes), canonical. uWS's own
 * text form spells an IPv4 peer of a dual-stack socket as IPv6 and never compresses zeros; this gives what
 * {@link canonicalAddress} gives. Empty when there are no bytes (not an IP socket).
 */
export function addressFromBytes(bytes: ArrayBuffer): string {
  const b = new Uint8Array(bytes);
  if (b.length === 4) return b.join('.');
  if (b.length !== 16) return '';
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  return canonicalAddress(groups.join(':')) ?? '';
}

/** An `X-Forwarded-For` entry's address: bare, `[v6]`, `[v6]:port` or `v4:port` (some proxies add the port). */
function hopAddress(entry: string): string | undefined {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) return canonicalAddress(bracketed[1]!);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text);
  return canonicalAddress(v4WithPort ? v4WithPort[1]! : text);
}

/** RFC 5952 text of a valid IPv6 address, by way of the URL parser (which implements exactly that serialisation). */
function ipv6Text(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
