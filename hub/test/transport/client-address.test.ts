/**
 * Which client a request came from behind reverse proxies: `X-Forwarded-For` is believed only from trusted proxies,
 * and only from the right, up to the first hop that is not one of them.
 */
import { describe, expect, it } from 'vitest';
import { addressFromBytes, canonicalAddress, InvalidAddressRangeError, parseAddressRange, TrustedProxies } from '../../src/transport/client-address.ts';

describe('TrustedProxies.clientAddress', () => {
  it('is the socket peer when nobody is trusted, whatever the header says', () => {
    const none = new TrustedProxies();
    expect(none.clientAddress('10.0.0.5', '198.51.100.7')).toBe('10.0.0.5');
    expect(none.clientAddress('2001:db8::1', '198.51.100.7')).toBe('2001:db8::1');
  });

  it('ignores the header from a socket that is not a trusted proxy', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8']);
    expect(proxies.clientAddress('192.0.2.1', '198.51.100.7')).toBe('192.0.2.1');
    // Not even a header naming a trusted proxy makes the sender one.
    expect(proxies.clientAddress('192.0.2.1', '10.0.0.5, 198.51.100.7')).toBe('192.0.2.1');
  });

  it('takes the client the trusted proxy appended (IPv4, single address)', () => {
    const proxies = new TrustedProxies(['10.0.0.5']);
    expect(proxies.clientAddress('10.0.0.5', '198.51.100.7')).toBe('198.51.100.7');
    expect(proxies.clientAddress('10.0.0.6', '198.51.100.7')).toBe('10.0.0.6');
  });

  it('takes the rightmost untrusted hop: entries the client wrote on the left are never read', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8']);
    // The client sent "X-Forwarded-For: 203.0.113.1, 10.0.0.9"; the proxy appended the real peer.
    expect(proxies.clientAddress('10.0.0.5', '203.0.113.1, 10.0.0.9, 198.51.100.7')).toBe('198.51.100.7');
    // Two proxies in a chain (CDN edge → load balancer → hub): both trusted, the client is left of them.
    expect(proxies.clientAddress('10.0.0.5', '203.0.113.1, 198.51.100.7, 10.20.0.3')).toBe('198.51.100.7');
  });

  it('matches CIDR ranges at their edges, host bits in the range ignored', () => {
    const proxies = new TrustedProxies(['172.16.5.9/12']);
    expect(proxies.ranges).toEqual(['172.16.5.9/12']);
    expect(proxies.has('172.16.0.0')).toBe(true);
    expect(proxies.has('172.31.255.255')).toBe(true);
    expect(proxies.has('172.32.0.0')).toBe(false);
    expect(proxies.has('172.15.255.255')).toBe(false);
    expect(proxies.clientAddress('172.20.1.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(proxies.clientAddress('172.32.0.1', '198.51.100.7')).toBe('172.32.0.1');
  });

  it('handles IPv6 proxies and clients, in any spelling, and ports and brackets in entries', () => {
    const proxies = new TrustedProxies(['fd00::/8', '2001:DB8:0:0:0:0:0:1']);
    expect(proxies.clientAddress('fd12:3456::1', '2001:0DB8:0000:0000:0000:0000:0000:0042')).toBe('2001:db8::42');
    expect(proxies.clientAddress('2001:db8::1', '[2001:db8::42]:51234')).toBe('2001:db8::42');
    expect(proxies.clientAddress('2001:db8::1', '198.51.100.7:4711')).toBe('198.51.100.7');
    expect(proxies.clientAddress('2001:db8::1', '2001:db8::43, fd00::1')).toBe('2001:db8::43');
    expect(proxies.clientAddress('2001:db8::2', '2001:db8::42')).toBe('2001:db8::2');
    // A client's IPv4 address as a dual-stack proxy may write it is the same client.
    expect(proxies.clientAddress('fd00::1', '::ffff:198.51.100.7')).toBe('198.51.100.7');
  });

  it('trusts an IPv4 proxy whichever family its range is written in', () => {
    expect(new TrustedProxies(['::ffff:10.0.0.0/104']).clientAddress('10.1.2.3', '198.51.100.7')).toBe('198.51.100.7');
  });

  it('lets the trusted hop stand in when the next entry is not an address, or there is no header', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8']);
    expect(proxies.clientAddress('10.0.0.5', 'unknown')).toBe('10.0.0.5');
    expect(proxies.clientAddress('10.0.0.5', '198.51.100.7, _hidden, 10.0.0.9')).toBe('10.0.0.9');
    expect(proxies.clientAddress('10.0.0.5', '198.51.100.7,')).toBe('10.0.0.5');
    expect(proxies.clientAddress('10.0.0.5', '')).toBe('10.0.0.5');
    // Only proxies all the way: the furthest one is as far out as can be believed.
    expect(proxies.clientAddress('10.0.0.5', '10.0.0.7, 10.0.0.6')).toBe('10.0.0.7');
  });
});

describe('address parsing', () => {
  it('parses addresses and CIDR ranges, and refuses anything else', () => {
    expect(parseAddressRange('10.0.0.5')).toEqual({ address: '10.0.0.5', prefix: 32, family: 'ipv4' });
    expect(parseAddressRange(' 10.0.0.0/8 ')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseAddressRange('FD00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
    expect(parseAddressRange('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['', 'localhost', '10.0.0.0/33', '::/129', '10.0.0/8', '10.0.0.0/', '10.0.0.0/8/8', '010.0.0.1', 'fe80::1%eth0', '1.2.3.4:80']) {
      expect(parseAddressRange(bad), bad).toBeUndefined();
    }
    expect(() => new TrustedProxies(['10.0.0.0/8', 'proxy.internal'])).toThrow(InvalidAddressRangeError);
  });

  it('spells each address one way', () => {
    expect(canonicalAddress('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(canonicalAddress('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalAddress('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalAddress('not-an-address')).toBeUndefined();
  });

  it('formats the bytes uWS reports for a peer', () => {
    expect(addressFromBytes(Uint8Array.from([192, 0, 2, 1]).buffer)).toBe('192.0.2.1');
    expect(addressFromBytes(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]).buffer)).toBe('127.0.0.1');
    expect(addressFromBytes(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]).buffer)).toBe('2001:db8::100');
    expect(addressFromBytes(new ArrayBuffer(0))).toBe('');
  });
});
