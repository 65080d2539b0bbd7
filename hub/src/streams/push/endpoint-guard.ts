import { BlockList, isIP } from 'node:net';

/**
 * Which push endpoints the hub will POST to. A subscription's endpoint is a URL a client supplied: left open, push
 * would let anyone with a token make the hub call addresses inside its network (SSRF). By default only `https` URLs on
 * the browser vendors' push services pass; an operator lists further origins (a self-hosted push service, a test
 * endpoint) in `PUSH_ALLOWED_ORIGINS`.
 *
 * Checked when a subscription is stored (a refusal is a `400`) and again before every send (the list may have
 * changed since).
 */

/** Host names of the push services browsers use, each with every subdomain below it. */
export const knownPushServices: readonly { readonly name: string; readonly domain: string; readonly subdomains: boolean }[] = Object.freeze([
  // Chrome, Edge on Android, Samsung Internet, Opera: Firebase Cloud Messaging.
  { name: 'Google FCM', domain: 'fcm.googleapis.com', subdomains: false },
  // Firefox: autopush (updates.push.services.mozilla.com).
  { name: 'Mozilla autopush', domain: 'push.services.mozilla.com', subdomains: true },
  // Safari on macOS and iOS (web.push.apple.com).
  { name: 'Apple web push', domain: 'push.apple.com', subdomains: true },
  // Edge on Windows: WNS (e.g. wns2-par02p.notify.windows.com).
  { name: 'Microsoft WNS', domain: 'notify.windows.com', subdomains: true },
]);

/** An endpoint the hub will not send to; the message says why, in words a client can act on. */
export class EndpointRefused extends Error {
  override readonly name = 'EndpointRefused';
}

/** Addresses that are never a public push service: loopback, private, link-local, unique-local, unspecified, CGNAT. */
const internalAddresses = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
    list.addSubnet(net, prefix, 'ipv4');
  }
  for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

/**
 * Parses one `PUSH_ALLOWED_ORIGINS` entry into its origin (`https://push.example:8443`), or throws with what is wrong.
 * Only `https`: web-push always sends over TLS.
 * @example parseAllowedOrigin('https://127.0.0.1:8443/') // 'https://127.0.0.1:8443'
 */
export function parseAllowedOrigin(entry: string): string {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new EndpointRefused(`"${entry}" is not a URL (expected an origin such as https://push.example.com:8443)`);
  }
  if (url.protocol !== 'https:') throw new EndpointRefused(`"${entry}" is not https: web push is always sent over TLS`);
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new EndpointRefused(`"${entry}" is not an origin: give scheme, host and port only (https://push.example.com:8443)`);
  }
  return url.origin;
}

/**
 * The decision for one endpoint.
 * @example new EndpointGuard([]).check('https://fcm.googleapis.com/fcm/send/abc') // URL
 * @example new EndpointGuard([]).check('http://127.0.0.1:9/x') // throws EndpointRefused
 */
export class EndpointGuard {
  readonly #allowed: ReadonlySet<string>;

  /** @param allowedOrigins origins as {@link parseAllowedOrigin} returns them (`PUSH_ALLOWED_ORIGINS`) */
  constructor(allowedOrigins: readonly string[]) {
    this.#allowed = new Set(allowedOrigins);
  }

  /** The endpoint as a URL when the hub may send to it; throws {@link EndpointRefused} otherwise. */
  check(endpoint: string): URL {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new EndpointRefused('endpoint is not a URL');
    }
    // An operator's explicit choice wins, including a private address (a push service inside the venue, a test).
    if (this.#allowed.has(url.origin) && url.protocol === 'https:' && !url.username && !url.password) return url;
    if (url.protocol !== 'https:') throw new EndpointRefused(`endpoint must be an https URL on a push service, not ${url.protocol.replace(':', '')}`);
    if (url.username || url.password) throw new EndpointRefused('endpoint must not carry a user name or password');
    const host = url.hostname;
    const address = host.startsWith('[') ? host.slice(1, -1) : host;
    const family = isIP(address);
    if (family !== 0) {
      const internal = internalAddresses.check(address, family === 4 ? 'ipv4' : 'ipv6');
      throw new EndpointRefused(
        internal
          ? `endpoint points at a private or loopback address (${address}): push services are public hosts`
          : `endpoint points at an IP address (${address}), not a push service's host name`,
      );
    }
    if (url.port !== '') throw new EndpointRefused(`endpoint names port ${url.port}: push services answer on 443`);
    if (!knownPushServices.some((s) => host === s.domain || (s.subdomains && host.endsWith(`.${s.domain}`)))) {
      throw new EndpointRefused(
        `endpoint's host "${host}" is not a known push service (${knownPushServices.map((s) => s.name).join(', ')}); an operator can allow more origins with PUSH_ALLOWED_ORIGINS`,
      );
    }
    return url;
  }
}
