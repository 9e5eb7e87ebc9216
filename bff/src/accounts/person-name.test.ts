import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keycloakRefusals } from '../../../test/support/later-step-rules.ts';
import { nameArb, TROUBLE_CHARS } from '../../../test/support/pii-arbitraries.ts';
import { createUserBody, USERNAME } from '../../../upstream/src/schemas.ts';
import { freeText, personName } from './person-name.ts';
import { generateUsername } from './username.ts';

const field = personName();
const reasonsOf = (value: unknown) => {
  const result = field.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => (i as { params?: { reason?: string } }).params?.reason);
};

describe('person names', () => {
  it('are trimmed and NFC-normalised', () => {
    expect(field.parse('  Jose\u0301 ')).toBe('José');
    expect(field.parse('Zoë Ångström')).toBe('Zoë Ångström');
    expect(field.parse("O'Neil-Smith, Jr.")).toBe("O'Neil-Smith, Jr.");
    expect(field.parse('राहुल शर्मा')).toBe('राहुल शर्मा');
  });

  it('refuse what Keycloak refuses: control characters and its prohibited set (the seed of issue 14 §5: a NUL)', () => {
    for (const name of ['Ri\u0000ya', 'Ri\nya', 'Ri\tya', 'Ri\u0085ya', 'Ri\u2028ya', 'R<i>', 'Riya;', 'Riya (Rí)', 'a&b', 'a§b', 'a=b']) {
      expect(reasonsOf(name), JSON.stringify(name)).toEqual(['invalid_characters']);
    }
  });

  it('check the NFC form: a GREEK QUESTION MARK becomes the ";" Keycloak refuses', () => {
    expect('a\u037eb'.normalize('NFC')).toBe('a;b');
    expect(reasonsOf('a\u037eb')).toEqual(['invalid_characters']);
  });

  it('refuse lone surrogates, invisible, bidi-override, private-use and unassigned characters', () => {
    for (const name of ['Ri\ud800ya', 'Riya\udc00', 'Ri\u200bya', 'Ri\u202eya', 'Ri\u2066ya', '\u00adRiya', 'Ri\ue000ya', 'Ri\u0378ya', 'Ri\uffffya']) {
      expect(reasonsOf(name), JSON.stringify(name)).toEqual(['invalid_characters']);
    }
  });

  it('keep the zero-width (non-)joiner between two visible characters only (Persian names, emoji sequences)', () => {
    expect(field.parse('مهدی\u200cزاده')).toBe('مهدی\u200cزاده');
    expect(field.parse('👩\u200d💻')).toBe('👩\u200d💻');
    for (const name of ['\u200cRiya', 'Riya\u200d', 'Ri \u200cya', '\u200d']) expect(reasonsOf(name), JSON.stringify(name)).toEqual(['invalid_characters']);
  });

  it('are 1 to 100 characters after trimming and normalising (the upstream core takes at most 100)', () => {
    expect(reasonsOf('')).toEqual(['required']);
    expect(reasonsOf(' \u3000 ')).toEqual(['required']);
    expect(field.parse('x'.repeat(100))).toHaveLength(100);
    expect(reasonsOf('x'.repeat(101))).toEqual(['too_long']);
    // U+0958 has no NFC composition: one code unit becomes two.
    expect(reasonsOf('\u0958'.repeat(60))).toEqual(['too_long']);
  });

  it('take custom messages for the empty case and never put the value in a message', () => {
    const result = personName({ required: 'Enter your name' }).safeParse('');
    expect(result.error?.issues[0]?.message).toBe('Enter your name');
    const bad = field.safeParse('secret\u0000value');
    expect(bad.error?.issues[0]?.message).not.toContain('secret');
  });
});

describe('person names, property', () => {
  const someName = fc.oneof(nameArb, fc.string({ unit: fc.constantFrom(...TROUBLE_CHARS, 'a', 'é', ' '), maxLength: 8 }));

  it('an accepted name passes every later step: Keycloak firstName/lastName, the upstream core, the generated username', () => {
    fc.assert(
      fc.property(someName, (raw) => {
        const result = field.safeParse(raw);
        if (!result.success) return;
        const name = result.data;
        expect(keycloakRefusals('firstName', name)).toEqual([]);
        expect(keycloakRefusals('lastName', name)).toEqual([]);
        expect(createUserBody.safeParse({ externalId: 'x', firstName: name, lastName: name }).data).toMatchObject({ firstName: name, lastName: name });
        const username = generateUsername(name);
        expect(username).toMatch(USERNAME);
        expect(keycloakRefusals('username', username)).toEqual([]);
        // Stable: what the API stores (and shows back in the enrollment form) is accepted again as is.
        expect(field.parse(name)).toBe(name);
        expect(name.isWellFormed() && name === name.normalize('NFC') && name === name.trim()).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('a refused name gets exactly one reason: required, too_long or invalid_characters', () => {
    fc.assert(
      fc.property(someName, (raw) => {
        const reasons = reasonsOf(raw);
        expect(reasons.length).toBeLessThanOrEqual(1);
        if (reasons.length === 1) expect(['required', 'too_long', 'invalid_characters']).toContain(reasons[0]);
      }),
      { numRuns: 2_000 },
    );
  });

  it('does not refuse real names: letters and marks of any script, spaces, apostrophes, hyphens, dots', () => {
    const nameChar = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 1 })
      .filter((g) => /^[\p{L}\p{M}]+$/u.test(g.normalize('NFC')) && g.normalize('NFC').length <= 4);
    const realName = fc
      .array(fc.oneof({ weight: 6, arbitrary: nameChar }, { weight: 1, arbitrary: fc.constantFrom(' ', "'", '-', '.', '’') }), { minLength: 1, maxLength: 25 })
      .map((parts) => parts.join(''))
      .filter((s) => /[\p{L}]/u.test(s));
    fc.assert(
      fc.property(realName, (raw) => {
        expect(field.safeParse(raw).success).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('free text (address lines, KBA answers)', () => {
  const text = freeText(20);
  it('allows the punctuation names may not have, refuses control and invisible characters', () => {
    expect(text.parse(' Flat #4/5 (rear); ')).toBe('Flat #4/5 (rear);');
    for (const value of ['a\u0000', 'a\nb', 'a\u202eb', 'a\ud800']) expect(text.safeParse(value).success, JSON.stringify(value)).toBe(false);
    expect(text.safeParse('x'.repeat(21)).success).toBe(false);
  });
});
