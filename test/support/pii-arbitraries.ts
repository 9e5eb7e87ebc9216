import fc from 'fast-check';

/**
 * Generated partner PII (issue 14 §5), shared by the schema's property test (bff/src, thousands of
 * runs) and the end-to-end one (test/e2e/partner-pii-property.test.ts, a few dozen through the real
 * stack), so both explore the same inputs: clean values, values around every limit, and values with
 * the characters that break something somewhere.
 */

/** Characters that some later step refuses, or that change under NFC, or that are fine but unusual. */
export const TROUBLE_CHARS = [
  // Cc: C0 (NUL, BEL, tab, line breaks), DEL, C1 (NEL is also Java's \v)
  '\u0000',
  '\u0007',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\f',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u009f',
  // Cf: soft hyphen, zero-width space/non-joiner/joiner, LRM, RLO, LRI, word joiner, BOM, Mongolian vowel separator
  '\u00ad',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u202e',
  '\u2066',
  '\u2060',
  '\ufeff',
  '\u180e',
  // Zl, Zp (Java's \v), lone surrogates, private use, unassigned and noncharacters
  '\u2028',
  '\u2029',
  '\ud800',
  '\udbff',
  '\udc00',
  '\ue000',
  '\uf8ff',
  '\u0378',
  '\ufffe',
  '\uffff',
  '\u{10ffff}',
  // Keycloak's person-name-prohibited-characters
  '<',
  '>',
  '&',
  '"',
  '$',
  '%',
  '!',
  '#',
  '?',
  '§',
  ';',
  '*',
  '~',
  '/',
  '\\',
  '|',
  '^',
  '=',
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  // NFC turns these into other characters: GREEK QUESTION MARK -> ';', OHM SIGN -> Ω, KELVIN SIGN -> K
  '\u037e',
  '\u2126',
  '\u212a',
  // Fine: combining marks, emoji (with variation selector), spaces, name punctuation
  '\u0301',
  '\u0308',
  '\u093c',
  '😀',
  '👩',
  '\ufe0f',
  '\u00a0',
  '\u3000',
  ' ',
  "'",
  '-',
  '.',
  ',',
  '’',
  '`',
  '@',
  ':',
  '+',
  '_',
];

const NAMES = [
  'Riya',
  'José',
  'Jose\u0301',
  'Zoë Ångström',
  'राहुल शर्मा',
  'मुहम्मद',
  'مهدی\u200cزاده',
  "O'Neil-Smith",
  '李小龍',
  'Nguyễn Thị Minh',
  'MD MANZARUL HAQUE',
  'Łukasz Żółć',
  'Ὀδυσσεύς',
  'Dr. Mary-Jane',
  'X Æ A-12',
  'Ño',
  'A',
  '😀',
  '\u0301',
  '·',
];

const trouble = fc.constantFrom(...TROUBLE_CHARS);
const oneGrapheme = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 });

/** A known name with one character inserted anywhere (code points, so a surrogate pair stays whole). */
const withInserted = (base: fc.Arbitrary<string>, inserted: fc.Arbitrary<string>) =>
  fc.tuple(base, inserted, fc.nat()).map(([text, char, at]) => {
    const points = [...text];
    points.splice(at % (points.length + 1), 0, char);
    return points.join('');
  });

/** Names that should pass: real ones of many scripts, two of them with padding, close to 100 characters. */
const cleanNameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES)).map(([a, b]) => `  ${a} ${b} `) },
  { weight: 1, arbitrary: fc.integer({ min: 90, max: 100 }).map((n) => 'é'.repeat(n)) },
);

/** Person names: real ones, ones with a character that breaks them, random Unicode, around 100 characters. */
export const nameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: cleanNameArb },
  { weight: 3, arbitrary: withInserted(fc.constantFrom(...NAMES), trouble) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(trouble, oneGrapheme), minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 95, max: 105 }).map((n) => 'é'.repeat(n)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 95, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u3000', '\u200d', '\ufeff') },
);

const isoDay = (date: Date) => date.toISOString().slice(0, 10);
const daysAgo = (days: number) => isoDay(new Date(Date.now() - days * 86_400_000));

const cleanDobArb = fc.oneof(
  fc.date({ min: new Date(Date.now() - 125 * 365 * 86_400_000), max: new Date(Date.now() - 86_400_000), noInvalidDate: true }).map(isoDay),
  fc.constantFrom('2000-02-29', '1996-02-29'),
);

/** Dates of birth: plausible ones, leap days real and not, today, tomorrow, the 130-year edge, malformed. */
export const dobArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.date({ min: new Date('1890-01-01T00:00:00Z'), max: new Date(Date.now() + 3 * 86_400_000), noInvalidDate: true }).map(isoDay) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '2000-02-29',
      '2001-02-29',
      '1900-02-29',
      '1991-02-31',
      '1991-13-01',
      '1991-00-10',
      '91-02-03',
      '1991-2-3',
      '1991-02-03T00:00:00Z',
      '',
      '0000-01-01',
      '9999-12-31',
      '1896-01-01',
      '１９９１-０２-０３',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, -1, 130 * 365 - 2, 130 * 366 + 2).map(daysAgo) },
  { weight: 1, arbitrary: withInserted(fc.constant('1991-02-03'), trouble) },
);

const label = (length: number, end = 'a') => `${'b'.repeat(length - 1)}${end}`;

const cleanEmailArb = fc.oneof(
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_+-]{0,20}$/), fc.constantFrom('example.com', 'Partner.Example', 'mail.co.in')).map(([l, d]) => `${l}@${d}`),
  fc.constantFrom(`${'a'.repeat(64)}@example.com`, `a@${label(63)}.com`, 'A.B@EXAMPLE.COM', ' padded@example.com ', "o'neil@example.com"),
);

/** E-mail addresses: fast-check's RFC ones, everyday ones, and the edges of Keycloak's validator. */
export const emailArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.emailAddress() },
  { weight: 3, arbitrary: cleanEmailArb },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      `${'a'.repeat(64)}@example.com`,
      `${'a'.repeat(65)}@example.com`,
      `a@${label(63)}.com`,
      `a@${label(64)}.com`,
      `a@${label(5, '-')}.com`,
      'A.B@EXAMPLE.COM',
      ' padded@example.com ',
      'josé@example.com',
      'a@exämple.com',
      'a..b@example.com',
      '.a@example.com',
      'a.@example.com',
      'a@example',
      'a@example.c',
      'a@[127.0.0.1]',
      '"a b"@example.com',
      "o'neil@example.com",
      'a@b@example.com',
      'plain',
      '',
    ),
  },
  { weight: 1, arbitrary: withInserted(fc.constant('riya@example.com'), trouble) },
);

const cleanPhoneArb = fc.constantFrom('+14155550100', '+12015550123', '+919876543210', '+447911123456', '+4407911123456', '+33612345678', '+5511987654321');

/** Phone numbers: valid E.164 ones, E.164-shaped ones of no numbering plan, other spellings. */
export const phoneArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: cleanPhoneArb },
  { weight: 2, arbitrary: fc.stringMatching(/^\+[1-9][0-9]{6,14}$/) },
  { weight: 1, arbitrary: fc.constantFrom('+1 415 555 0100', '4155550100', '+1-415-555-0100', '+0123456789', '+1234567890123456', '+١٢٣٤٥٦٧٨٩', '') },
  { weight: 1, arbitrary: withInserted(fc.constant('+14155550100'), trouble) },
);

const cleanSsnArb = fc.stringMatching(/^\d{3}-?\d{2}-?\d{4}$/);

export const ssnArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: cleanSsnArb },
  { weight: 1, arbitrary: fc.constantFrom('123 45 6789', '12-345-6789', '١٢٣-٤٥-٦٧٨٩', '123456789 ', '') },
  { weight: 1, arbitrary: withInserted(fc.constant('123-45-6789'), trouble) },
);

const cleanAddressText = fc.constantFrom('1 Main St', 'Flat 4/5, MG Road', 'Apt #7 (rear)', 'Springfield', 'IL', 'Karnataka', 'São Paulo');
const cleanAddressArb = fc.record({
  line1: cleanAddressText,
  city: cleanAddressText,
  state: cleanAddressText,
  postalCode: fc.constantFrom('62701', '560001', 'SW1A 1AA'),
});

const addressText = fc.oneof(
  { weight: 3, arbitrary: cleanAddressText },
  { weight: 1, arbitrary: withInserted(fc.constantFrom('1 Main St', 'Springfield'), trouble) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 210 }) },
);

export const addressArb = fc.record({
  line1: addressText,
  city: addressText,
  state: addressText,
  postalCode: fc.oneof(fc.constantFrom('62701', '560001', 'SW1A 1AA', '12345-6789'), fc.string({ maxLength: 12 })),
});

export interface GeneratedPii {
  firstName: string;
  lastName: string;
  dob: string;
  email?: string;
  phone?: string;
  ssn?: string;
  address?: { line1: string; city: string; state: string; postalCode: string };
}

const anyPiiArb: fc.Arbitrary<GeneratedPii> = fc.record(
  { firstName: nameArb, lastName: nameArb, dob: dobArb, email: emailArb, phone: phoneArb, ssn: ssnArb, address: addressArb },
  { requiredKeys: ['firstName', 'lastName', 'dob'] },
);

const cleanPiiArb: fc.Arbitrary<GeneratedPii> = fc.record(
  { firstName: cleanNameArb, lastName: cleanNameArb, dob: cleanDobArb, email: cleanEmailArb, phone: cleanPhoneArb, ssn: cleanSsnArb, address: cleanAddressArb },
  { requiredKeys: ['firstName', 'lastName', 'dob'] },
);

const FIELDS = ['firstName', 'lastName', 'dob', 'email', 'phone', 'ssn', 'address'] as const;

/**
 * PII records: wholly generated ones are nearly always refused somewhere, so most are a record that
 * should pass with one field (sometimes two) taken from the wild generators.
 */
export const piiArb: fc.Arbitrary<GeneratedPii> = fc.oneof(
  { weight: 2, arbitrary: cleanPiiArb },
  {
    weight: 4,
    arbitrary: fc.tuple(cleanPiiArb, anyPiiArb, fc.subarray([...FIELDS], { minLength: 1, maxLength: 2 })).map(([clean, wild, fields]) => {
      const pii: Record<string, unknown> = { ...clean };
      for (const f of fields) pii[f] = wild[f] ?? clean[f];
      return pii as unknown as GeneratedPii;
    }),
  },
  { weight: 1, arbitrary: anyPiiArb },
);
