import { describe, expect, it } from 'vitest';
import { expiryFrom, findNonJsonValue, isAtRest, isExpired, isFlowId, stateValueToString } from './flow-state.ts';
import { defineFlow } from './flow-runtime.ts';
import { createMachine } from 'xstate';

describe('stateValueToString', () => {
  it('keeps an atomic state as is', () => {
    expect(stateValueToString('idle')).toBe('idle');
  });
  it('joins nested states with dots', () => {
    expect(stateValueToString({ claim: { password: 'secondTry' } })).toBe('claim.password.secondTry');
  });
  it('joins parallel regions with commas, in declaration order', () => {
    expect(stateValueToString({ upload: 'pending', form: { step: 'two' } })).toBe('upload.pending,form.step.two');
    expect(stateValueToString({ a: { x: 'one', y: 'two' } })).toBe('a.x.one,a.y.two');
  });
  it('names a region whose value is empty by itself', () => {
    expect(stateValueToString({ a: {}, b: 'c' })).toBe('a,b.c');
  });
});

describe('isAtRest', () => {
  const snap = (status: 'active' | 'done' | 'error' | 'stopped', tags: string[]) => ({
    status,
    hasTag: (t: string) => tags.includes(t),
  });
  it('is at rest in a state tagged rest', () => expect(isAtRest(snap('active', ['rest']))).toBe(true));
  it('is in flight in an untagged active state', () => expect(isAtRest(snap('active', ['other']))).toBe(false));
  it('is at rest once the machine stopped, whatever its tags', () => {
    expect(isAtRest(snap('done', []))).toBe(true);
    expect(isAtRest(snap('error', []))).toBe(true);
  });
});

describe('isFlowId', () => {
  it('accepts a v4 uuid in either case', () => {
    expect(isFlowId('0b6c1a52-8c1f-4f6e-9c83-6f1f0d1c2a3b')).toBe(true);
    expect(isFlowId('0B6C1A52-8C1F-4F6E-9C83-6F1F0D1C2A3B')).toBe(true);
  });
  it('refuses anything else (it would be a database error otherwise)', () => {
    for (const bad of ['', 'abc', '0b6c1a52-8c1f-4f6e-9c83-6f1f0d1c2a3', "0b6c1a52-8c1f-4f6e-9c83-6f1f0d1c2a3b' or 1=1"]) {
      expect(isFlowId(bad)).toBe(false);
    }
  });
});

describe('expiry', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('adds the TTL', () => expect(expiryFrom(now, 900).toISOString()).toBe('2026-01-01T00:15:00.000Z'));
  it('refuses a TTL that is not a positive whole number', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => expiryFrom(now, bad)).toThrow(RangeError);
  });
  it('is exclusive: expired exactly at expiresAt', () => {
    const at = expiryFrom(now, 60);
    expect(isExpired(at, new Date(at.getTime() - 1))).toBe(false);
    expect(isExpired(at, at)).toBe(true);
  });
});

describe('defineFlow', () => {
  const machine = createMachine({ initial: 'a', states: { a: { tags: 'rest' } } });
  it('accepts a sane definition', () => {
    expect(defineFlow({ kind: 'claim', machineVersion: 1, machine, ttlSeconds: 900 }).kind).toBe('claim');
  });
  it('refuses bad kinds, versions and TTLs', () => {
    expect(() => defineFlow({ kind: 'Claim Flow', machineVersion: 1, machine, ttlSeconds: 900 })).toThrow(RangeError);
    expect(() => defineFlow({ kind: 'claim', machineVersion: 0, machine, ttlSeconds: 900 })).toThrow(RangeError);
    expect(() => defineFlow({ kind: 'claim', machineVersion: 1.5, machine, ttlSeconds: 900 })).toThrow(RangeError);
    expect(() => defineFlow({ kind: 'claim', machineVersion: 1, machine, ttlSeconds: 0 })).toThrow(RangeError);
  });
});

describe('findNonJsonValue', () => {
  it('accepts plain JSON, with undefined properties', () => {
    expect(findNonJsonValue({ a: 1, b: 'x', c: [true, null, { d: 2.5 }], e: undefined, f: Object.create(null) })).toBeNull();
  });
  it('points at values that would not come back the same from jsonb', () => {
    expect(findNonJsonValue({ context: { issuedAt: new Date() } })).toBe('$.context.issuedAt');
    expect(findNonJsonValue({ a: [1, new Map()] })).toBe('$.a[1]');
    expect(findNonJsonValue({ a: [undefined] })).toBe('$.a[0]');
    expect(findNonJsonValue({ n: Number.NaN })).toBe('$.n');
    expect(findNonJsonValue({ big: 1n })).toBe('$.big');
    expect(findNonJsonValue({ fn: () => 1 })).toBe('$.fn');
    class Money {
      amount = 1;
    }
    expect(findNonJsonValue({ m: new Money() })).toBe('$.m');
  });
});
