import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses as the BFF compares and counts them, and sets of addresses and CIDR ranges (the
 * trusted reverse proxies of TRUSTED_PROXIES). node:net's BlockList does the matching.
 */

/**
 * An address in one canonical text form, or null when `raw` is not an IP address. IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4 peer) becomes the IPv4 address,
 * so one client has one form; IPv6 is lower-cased and compressed. Also takes the forms proxies put
 * in X-Forwarded-For besides the bare address: `192.0.2.1:4711` and `[2001:db8::1]:443`.
 */
export function canonicalAddress(raw: string): string | null {
  let value = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  if (isIPv4(value)) return value;
  if (!isIPv6(value) || value.includes('%')) return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  // The URL parser writes IPv6 hosts in their canonical (RFC 5952) form.
  return new URL(`http://[${value}]/`).hostname.slice(1, -1);
}

/**
 * What per-IP limits count: an IPv4 address, or the /64 network of an IPv6 address (one subscriber
 * line or host gets a whole /64, so counting single IPv6 addresses would give it 2^64 budgets).
 */
export function limitedNetworkOf(address: string): string {
  const canonical = canonicalAddress(address) ?? address;
  if (!isIPv6(canonical)) return canonical;
  const groups = expandIPv6(canonical);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) is two groups.
  const last = right.length > 0 ? right : left;
  const dotted = last[last.length - 1];
  if (dotted?.includes('.')) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    last.splice(last.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => g.toLowerCase().padStart(4, '0'));
}

/** A set of IP addresses and CIDR ranges, IPv4 and IPv6. */
export class AddressSet {
  readonly #list = new BlockList();
  readonly entries: readonly string[];

  /** `entries`: addresses and `address/prefix` ranges; throws a RangeError naming the first bad one. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const problem = addEntry(this.#list, entry);
      if (problem) throw new RangeError(`${JSON.stringify(entry)}: ${problem}`);
    }
    this.entries = [...entries];
  }

  get size(): number {
    return this.entries.length;
  }

  /** True when `address` (any of the forms canonicalAddress takes) is in the set. */
  has(address: string): boolean {
    const canonical = canonicalAddress(address);
    if (canonical === null || this.entries.length === 0) return false;
    return this.#list.check(canonical, isIPv4(canonical) ? 'ipv4' : 'ipv6');
  }
}

/** Adds one entry; the reason it is not an address or range otherwise. */
function addEntry(list: BlockList, entry: string): string | null {
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined) return 'not an IP address or CIDR range';
  const canonical = isIP(address) === 0 ? null : canonicalAddress(address);
  if (canonical === null) return 'not an IP address or CIDR range';
  const type = isIPv4(canonical) ? 'ipv4' : 'ipv6';
  if (prefix === undefined) {
    list.addAddress(canonical, type);
    return null;
  }
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (!(bits >= 0 && bits <= (type === 'ipv4' ? 32 : 128))) return `the prefix length must be 0-${type === 'ipv4' ? 32 : 128}`;
  list.addSubnet(canonical, bits, type);
  return null;
}

/** Splits a comma-separated list (TRUSTED_PROXIES) into trimmed, non-empty entries. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}
