import { describe, expect, it } from 'vitest';
import { isSubset, substitute } from './template.ts';

function sub<T>(value: T, env: Record<string, string | undefined>) {
  const missing = new Set<string>();
  return { value: substitute(value, env, missing), missing: [...missing].sort() };
}

describe('substitute', () => {
  it('replaces ${X} inside strings, several per string, and leaves other text alone', () => {
    const r = sub({ url: 'https://${HOST}:${PORT}/cb', plain: 'no $ placeholders {here}' }, { HOST: 'idp.example', PORT: '8443' });
    expect(r.value).toEqual({ url: 'https://idp.example:8443/cb', plain: 'no $ placeholders {here}' });
    expect(r.missing).toEqual([]);
  });

  it('uses the default of ${X:-d} only when X is unset or empty', () => {
    expect(sub('${A:-fallback}', {}).value).toBe('fallback');
    expect(sub('${A:-fallback}', { A: '' }).value).toBe('fallback');
    expect(sub('${A:-fallback}', { A: 'set' }).value).toBe('set');
    expect(sub('${A:-}', {}).value).toBe('');
    expect(sub('${A:-}', {}).missing).toEqual([]);
  });

  it('turns a whole-string $bool{X} into a boolean', () => {
    const r = sub({ on: '$bool{ON}', off: '$bool{OFF}', text: 'x $bool{ON}' }, { ON: 'true', OFF: 'false' });
    expect(r.value).toEqual({ on: true, off: false, text: 'x $bool{ON}' });
    expect(r.missing).toEqual([]);
  });

  it('walks arrays and nested objects and keeps non-strings as they are', () => {
    const r = sub({ list: ['${A}', { deep: ['${B}'] }], n: 3, b: false, nil: null }, { A: 'a', B: 'b' });
    expect(r.value).toEqual({ list: ['a', { deep: ['b'] }], n: 3, b: false, nil: null });
  });

  it('collects every missing variable (unset or empty, without default) instead of using an empty value silently', () => {
    const r = sub({ secret: '${CLIENT_SECRET}', other: 'x-${EMPTY}-${CLIENT_SECRET}', flag: '$bool{FLAG}', ok: '${SET}' }, { EMPTY: '', SET: 'v' });
    expect(r.missing).toEqual(['CLIENT_SECRET', 'EMPTY', 'FLAG']);
    expect(r.value.ok).toBe('v');
  });
});

describe('isSubset', () => {
  it('compares scalars as strings (Keycloak stores booleans and numbers as strings)', () => {
    expect(isSubset(true, 'true')).toBe(true);
    expect(isSubset(300, '300')).toBe(true);
    expect(isSubset('a', 'a')).toBe(true);
    expect(isSubset(false, 'true')).toBe(false);
    expect(isSubset(300, 301)).toBe(false);
    expect(isSubset(false, undefined)).toBe(false);
  });

  it('accepts extra keys in actual (ids and defaults Keycloak adds) but not missing or different ones', () => {
    const desired = { enabled: true, attributes: { 'pkce.code.challenge.method': 'S256' } };
    expect(isSubset(desired, { id: 'x', enabled: 'true', attributes: { 'pkce.code.challenge.method': 'S256', other: '1' }, more: 1 })).toBe(true);
    expect(isSubset(desired, { enabled: true })).toBe(false);
    expect(isSubset(desired, { enabled: true, attributes: {} })).toBe(false);
    expect(isSubset(desired, { enabled: false, attributes: { 'pkce.code.challenge.method': 'S256' } })).toBe(false);
    expect(isSubset({ a: 1 }, undefined)).toBe(false);
    expect(isSubset({ a: 1 }, 'scalar')).toBe(false);
    expect(isSubset({}, undefined)).toBe(true);
    expect(isSubset({}, 'scalar')).toBe(false);
  });

  it('compares arrays of scalars as sets: order does not matter, members do', () => {
    expect(isSubset(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(isSubset([1, true], ['true', '1'])).toBe(true);
    expect(isSubset(['a', 'b'], ['a', 'c'])).toBe(false);
    // The desired list is the whole list: an extra member in Keycloak is a difference to apply.
    expect(isSubset(['a'], ['a', 'b'])).toBe(false);
    expect(isSubset(['a', 'b'], ['a'])).toBe(false);
    expect(isSubset(['a', 'a'], ['a', 'b'])).toBe(false);
    expect(isSubset([], undefined)).toBe(true);
    expect(isSubset(['a'], undefined)).toBe(false);
  });

  it('compares arrays of objects element by element, each as a subset', () => {
    const desired = [{ name: 'm1', config: { claim: 'x' } }, { name: 'm2' }];
    expect(
      isSubset(desired, [
        { id: '1', name: 'm1', config: { claim: 'x', extra: 'y' } },
        { id: '2', name: 'm2' },
      ]),
    ).toBe(true);
    expect(isSubset(desired, [{ name: 'm2' }, { name: 'm1', config: { claim: 'x' } }])).toBe(false);
    expect(isSubset(desired, [{ name: 'm1', config: { claim: 'other' } }, { name: 'm2' }])).toBe(false);
    expect(isSubset(desired, [{ name: 'm1', config: { claim: 'x' } }])).toBe(false);
    // The desired list is the whole list here too.
    expect(isSubset([{ name: 'm1' }], [{ name: 'm1' }, { name: 'm2' }])).toBe(false);
  });

  it('ignores desired null/undefined (nothing to enforce)', () => {
    expect(isSubset(null, 'anything')).toBe(true);
    expect(isSubset({ a: undefined }, {})).toBe(true);
  });
});
