import { describe, expect, it } from 'vitest';
import { ttlMillis, ttlSeconds, type Ttl } from './ephemeral-store.ts';

describe('Ttl', () => {
  it('is made from positive whole seconds or milliseconds', () => {
    expect(ttlSeconds(600)).toBe(600_000);
    expect(ttlMillis(1500)).toBe(1500);
  });
  it('refuses zero, negative, fractional and non-finite values', () => {
    for (const bad of [0, -5, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => ttlSeconds(bad)).toThrow(RangeError);
      expect(() => ttlMillis(bad)).toThrow(RangeError);
    }
  });
  it('cannot be a bare number (compile-time check)', () => {
    // @ts-expect-error a plain number is not a Ttl: writes without a vetted TTL do not type-check
    const bare: Ttl = 600;
    expect(bare).toBe(600);
  });
});
