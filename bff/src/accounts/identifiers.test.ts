import { describe, expect, it } from 'vitest';
import { isE164, isEmail, normaliseEmail, parsePhone } from './identifiers.ts';

describe('identifiers', () => {
  it('normalise emails: trimmed, lower case', () => {
    expect(normaliseEmail('  Asha.Verma@Example.COM ')).toBe('asha.verma@example.com');
    expect(isEmail('asha@example.com')).toBe(true);
    for (const bad of ['asha', 'asha@', '@example.com', 'a b@example.com', 'asha@example']) expect(isEmail(bad)).toBe(false);
  });

  it('parse phones to E.164 with the default country, national or international', () => {
    expect(parsePhone('98765 43210', 'IN')).toBe('+919876543210');
    expect(parsePhone('098765-43210', 'IN')).toBe('+919876543210');
    expect(parsePhone('+91 98765 43210', 'IN')).toBe('+919876543210');
    expect(parsePhone('+44 7911 123456', 'IN')).toBe('+447911123456');
    expect(parsePhone('(202) 555-0143', 'US')).toBe('+12025550143');
  });

  it('refuse what is not a valid number', () => {
    for (const bad of ['12345', 'abc', '', '+91 12345', '98765 4321']) expect(parsePhone(bad, 'IN')).toBeNull();
  });

  it('check E.164', () => {
    expect(isE164('+919876543210')).toBe(true);
    for (const bad of ['919876543210', '+0123456789', '+91 98765', '+1234567890123456']) expect(isE164(bad)).toBe(false);
  });
});
