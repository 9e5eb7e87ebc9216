import { describe, expect, it } from 'vitest';
import { generateUsername, usernameBase, usernameDigits, USERNAME_PATTERN } from './username.ts';

describe('generated usernames', () => {
  it('follow the seed: lower case, spaces to _, 4 digits', () => {
    expect(generateUsername('MD MANZARUL HAQUE', () => 98)).toBe('md_manzarul_haque0098');
    expect(generateUsername('Asha', () => 0)).toBe('asha0000');
    expect(generateUsername('Asha', () => 9999)).toBe('asha9999');
  });

  it('widen the number after five taken tries, so a name held by 10,000 people still gets one', () => {
    expect([0, 4, 5, 7, 8, 9].map(usernameDigits)).toEqual([4, 4, 6, 6, 8, 8]);
    const ranges: number[] = [];
    const spy = (n: number) => {
      ranges.push(n);
      return 7;
    };
    expect(generateUsername('Asha', spy, 6)).toBe('asha000007');
    expect(generateUsername('Asha', spy, 8)).toBe('asha00000007');
    expect(ranges).toEqual([1_000_000, 100_000_000]);
  });

  it('write Hindi names as they are written in English (issue 17 §9), with the inherent vowel where it is said', () => {
    expect(generateUsername('उमा शर्मा', () => 1234)).toBe('uma_sharma1234');
    expect(usernameBase('राहुल शर्मा')).toBe('rahul_sharma');
    expect(usernameBase('मोहन दास')).toBe('mohan_das');
    expect(usernameBase('सुनीता देवी')).toBe('sunita_devi');
    expect(usernameBase('नरेंद्र')).toBe('narendra');
    expect(usernameBase('कृष्ण')).toBe('krishna');
    expect(usernameBase('लक्ष्मी')).toBe('lakshmi');
    expect(usernameBase('ज्ञानेश')).toBe('gyanesh');
    expect(usernameBase('कमला')).toBe('kamla');
    expect(usernameBase('संजय')).toBe('sanjay');
    expect(usernameBase('शाहरुख़ ख़ान')).toBe('shahrukh_khan');
    // Decomposed input (nukta as its own code point) reads the same.
    expect(usernameBase('शाहरुख़ ख़ान'.normalize('NFD'))).toBe('shahrukh_khan');
    expect(usernameBase('Uma शर्मा')).toBe('uma_sharma');
  });

  it('transliterate other non-ASCII names', () => {
    expect(usernameBase('Zoë Ångström')).toBe('zoe_angstrom');
    expect(usernameBase('Łukasz Żółć')).toBe('lukasz_zolc');
  });

  it('keep only safe characters, collapse separators and fall back to "user"', () => {
    expect(usernameBase("  O'Brien   -  Smith!  ")).toBe('obrien_-_smith');
    expect(usernameBase('a  \t b')).toBe('a_b');
    expect(usernameBase('!!!')).toBe('user');
    expect(usernameBase('😀')).toBe('grinning');
    expect(usernameBase('x'.repeat(200))).toHaveLength(60);
  });

  it('are valid given usernames too', () => {
    for (const name of ['MD MANZARUL HAQUE', 'राहुल', '!!!', 'a']) expect(generateUsername(name)).toMatch(USERNAME_PATTERN);
  });

  it('draw their digits from the random source, by default a CSPRNG in range', () => {
    const seen = new Set(Array.from({ length: 50 }, () => generateUsername('a').slice(1)));
    expect(seen.size).toBeGreaterThan(1);
    for (const digits of seen) expect(digits).toMatch(/^\d{4}$/);
  });
});
