import { describe, expect, it } from 'vitest';
import { AddressSet, canonicalAddress, limitedNetworkOf, splitList } from './ip-ranges.ts';

describe('canonicalAddress', () => {
  it('gives one form per address, including the forms proxies write', () => {
    expect(canonicalAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalAddress(' 203.0.113.7 ')).toBe('203.0.113.7');
    expect(canonicalAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalAddress('203.0.113.7:4711')).toBe('203.0.113.7');
    expect(canonicalAddress('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalAddress('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(canonicalAddress('[2001:db8::1]')).toBe('2001:db8::1');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', 'unknown', 'example.com', '203.0.113', '203.0.113.300', '2001:db8::1%eth0', '<script>', '1.2.3.4:port']) {
      expect(canonicalAddress(bad), bad).toBeNull();
    }
  });
});

describe('limitedNetworkOf', () => {
  it('counts an IPv4 address as itself and an IPv6 address by its /64', () => {
    expect(limitedNetworkOf('198.51.100.9')).toBe('198.51.100.9');
    expect(limitedNetworkOf('::ffff:198.51.100.9')).toBe('198.51.100.9');
    expect(limitedNetworkOf('2001:db8:1:2:aaaa::1')).toBe('2001:0db8:0001:0002::/64');
    expect(limitedNetworkOf('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(limitedNetworkOf('2001:db8:1:2::9'));
    expect(limitedNetworkOf('2001:db8:1:3::9')).not.toBe(limitedNetworkOf('2001:db8:1:2::9'));
    expect(limitedNetworkOf('::1')).toBe('0000:0000:0000:0000::/64');
  });
});

describe('AddressSet', () => {
  it('holds addresses and CIDR ranges of both families', () => {
    const set = new AddressSet(splitList(' 10.0.0.0/8, 192.0.2.10 ,2001:db8:aa::/48,::1,'));
    expect(set.size).toBe(4);
    expect(set.has('10.20.30.40')).toBe(true);
    expect(set.has('::ffff:10.20.30.40')).toBe(true);
    expect(set.has('192.0.2.10')).toBe(true);
    expect(set.has('192.0.2.11')).toBe(false);
    expect(set.has('11.0.0.1')).toBe(false);
    expect(set.has('2001:db8:aa:1::5')).toBe(true);
    expect(set.has('2001:db8:ab::5')).toBe(false);
    expect(set.has('::1')).toBe(true);
    expect(set.has('not-an-ip')).toBe(false);
  });

  it('is empty by default and then holds nothing', () => {
    const none = new AddressSet(splitList(''));
    expect(none.size).toBe(0);
    expect(none.has('127.0.0.1')).toBe(false);
  });

  it('refuses a bad entry, naming it', () => {
    for (const bad of ['proxy.internal', '10.0.0.0/33', '2001:db8::/129', '10.0.0.1/8/1', '10.0.0.0/', '10.0.0.0/x']) {
      expect(() => new AddressSet([bad]), bad).toThrow(JSON.stringify(bad));
    }
  });
});
