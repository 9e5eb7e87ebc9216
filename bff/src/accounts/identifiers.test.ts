import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseInput } from '../http/validation.ts';
import { isDomainError } from '../kernel/errors.ts';
import {
  e164PhoneField,
  emailField,
  displayPhone,
  emailOrPhoneField,
  identifierOf,
  isE164,
  isEmail,
  maskIdentifier,
  normaliseEmail,
  parseEmail,
  parseIdentifier,
  parsePhone,
  phoneField,
  strictEmailField,
} from './identifiers.ts';

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

  it('show phones one way: international format (issue 17 §7)', () => {
    expect(displayPhone('+919876543210')).toBe('+91 98765 43210');
    expect(displayPhone('+447911123456')).toBe('+44 7911 123456');
    expect(displayPhone('+12025550143')).toBe('+1 202 555 0143');
    expect(displayPhone('not a phone')).toBe('not a phone');
  });

  it('mask: the first letter and the domain of an e-mail, the country code and last two digits of a phone', () => {
    expect(maskIdentifier({ kind: 'email', value: 'meera.iyer@state.example' })).toBe('m•••@state.example');
    expect(maskIdentifier({ kind: 'phone', value: '+919812300001' })).toBe('+91 ••••• •••01');
  });

  it('read one typed string as an e-mail (it has an @) or a phone, normalised, else nothing', () => {
    expect(parseEmail(' Asha@Example.COM ')).toBe('asha@example.com');
    expect(parseEmail('asha')).toBeNull();
    expect(parseIdentifier('  Asha@Example.COM ', 'IN')).toEqual({ kind: 'email', value: 'asha@example.com' });
    expect(parseIdentifier('098765-43210', 'IN')).toEqual({ kind: 'phone', value: '+919876543210' });
    for (const bad of ['asha@', 'not an address', '12345', '']) expect(parseIdentifier(bad, 'IN'), bad).toBeNull();
    expect(identifierOf({ phone: '+919876543210' })).toEqual({ kind: 'phone', value: '+919876543210' });
    expect(() => identifierOf({})).toThrow();
  });
});

/** The fields as every route takes them: the value, or the `field:reason` list of its 400. */
function take(field: z.ZodType, value: unknown): unknown {
  try {
    return parseInput(z.strictObject({ field }), { field: value }).field;
  } catch (err) {
    if (!isDomainError(err)) throw err;
    return err.fields.map((f) => `${f.field}:${f.reason}`);
  }
}

describe('identifier fields', () => {
  const long = (n: number) => `${'a'.repeat(n - '@example.com'.length)}@example.com`;

  it('e-mails: normalised; malformed is invalid_format, longer than 254 is too_long, for the loose and the strict one alike', () => {
    for (const field of [emailField(), strictEmailField()]) {
      expect(take(field, '  Asha@Example.COM ')).toBe('asha@example.com');
      expect(take(field, 'asha@')).toEqual(['field:invalid_format']);
      expect(take(field, long(255))).toEqual(['field:too_long']);
      expect(take(field, undefined)).toEqual(['field:required']);
      expect(take(field, 42)).toEqual(['field:invalid_type']);
    }
    // What only the strict one refuses (Keycloak or the core would): a label ending in -, non-ASCII.
    for (const value of ['a@bank-.com', 'äsha@example.com']) {
      expect(take(emailField(), value)).toBe(value);
      expect(take(strictEmailField(), value)).toEqual(['field:invalid_format']);
    }
  });

  it('phones: to E.164; not a number is invalid_format, longer than 32 is too_long; national forms only where a person types them', () => {
    expect(take(phoneField('IN'), '98765 43210')).toBe('+919876543210');
    expect(take(e164PhoneField(), '98765 43210')).toEqual(['field:invalid_format']);
    expect(take(e164PhoneField(), '+4407911123456')).toBe('+447911123456');
    for (const field of [phoneField('IN'), e164PhoneField()]) {
      expect(take(field, '+91 12345')).toEqual(['field:invalid_format']);
      expect(take(field, `+91${'9'.repeat(30)}`)).toEqual(['field:too_long']);
    }
  });

  it('an e-mail or a phone in one string: the identifier, or invalid_format as a bad email or phone field', () => {
    expect(take(emailOrPhoneField('IN'), ' Asha@Example.com ')).toEqual({ kind: 'email', value: 'asha@example.com' });
    expect(take(emailOrPhoneField('IN'), '98765 43210')).toEqual({ kind: 'phone', value: '+919876543210' });
    expect(take(emailOrPhoneField('IN'), 'not an address')).toEqual(['field:invalid_format']);
    expect(take(emailOrPhoneField('IN'), '  ')).toEqual(['field:too_short']);
  });
});
