import { describe, expect, it } from 'vitest';
import { randomBytesPooled } from './random-bytes.ts';

describe('randomBytesPooled', () => {
  it('hands out each byte once, as copies of the asked size, across pool refills', () => {
    const seen = new Set<string>();
    // 12-byte nonces across several 4 KiB pools: a repeat would mean a byte range handed out twice.
    for (let i = 0; i < 5_000; i++) {
      const bytes = randomBytesPooled(12);
      expect(bytes).toHaveLength(12);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(5_000);
    const a = randomBytesPooled(32);
    const copy = Buffer.from(a);
    randomBytesPooled(4096); // a request that does not fit refills or bypasses; `a` stays as it was
    expect(a.equals(copy)).toBe(true);
    expect(randomBytesPooled(300)).toHaveLength(300);
    expect(randomBytesPooled(0)).toHaveLength(0);
    expect(() => randomBytesPooled(-1)).toThrow(RangeError);
    expect(() => randomBytesPooled(1.5)).toThrow(RangeError);
  });

  it('is not all zeros or repeating (a pool that was never filled would be)', () => {
    const bytes = Buffer.concat(Array.from({ length: 64 }, () => randomBytesPooled(64)));
    const counts = new Map<number, number>();
    for (const b of bytes) counts.set(b, (counts.get(b) ?? 0) + 1);
    // 4096 bytes: every value appears about 16 times; a broken source gives a few values only.
    expect(counts.size).toBeGreaterThan(200);
  });
});
