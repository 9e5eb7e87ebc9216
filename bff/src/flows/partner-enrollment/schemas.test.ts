import fc from 'fast-check';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { hasProfileAttribute, keycloakRefusals } from '../../../../test/support/later-step-rules.ts';
import { piiArb } from '../../../../test/support/pii-arbitraries.ts';
import { createUserBody, startVerificationBody, USERNAME } from '../../../../upstream/src/schemas.ts';
import { generateUsername } from '../../accounts/username.ts';
import { isDomainError } from '../../kernel/errors.ts';
import { parseInput } from '../../http/validation.ts';
import { authRequestSchema, kbaAnswersSchema, piiSchema, type Pii } from './schemas.ts';

/**
 * Issue 14 §5 at the schema: whatever the partner API accepts, every later step accepts (Keycloak's
 * user profile, the upstream core's contract, the generated username); whatever it refuses is a 400
 * naming `pii.<field>`. The end-to-end version runs fewer cases through the real stack
 * (test/e2e/partner-pii-property.test.ts).
 */
const request = (pii: unknown) => ({ appKey: 'bank-app', dbpUserId: 'u-1', pii });

/** Where each field of the PII goes in Keycloak (today's identifiers, or the contact-candidate attributes). */
const emailAttributes = ['email', 'partnerContactEmail'].filter(hasProfileAttribute);
const phoneAttributes = ['phone', 'partnerContactPhone'].filter(hasProfileAttribute);

function expectEveryLaterStepAccepts(pii: Pii): void {
  for (const name of [pii.firstName, pii.lastName]) {
    expect(keycloakRefusals('firstName', name), name).toEqual([]);
    expect(keycloakRefusals('lastName', name), name).toEqual([]);
  }
  const username = generateUsername(`${pii.firstName} ${pii.lastName}`);
  expect(username).toMatch(USERNAME);
  expect(keycloakRefusals('username', username)).toEqual([]);
  for (const attribute of emailAttributes) if (pii.email) expect(keycloakRefusals(attribute, pii.email), `${attribute} ${pii.email}`).toEqual([]);
  for (const attribute of phoneAttributes) if (pii.phone) expect(keycloakRefusals(attribute, pii.phone), `${attribute} ${pii.phone}`).toEqual([]);
  if (pii.phone) expect(parsePhoneNumberFromString(pii.phone)?.isValid(), pii.phone).toBe(true);
  const profile = createUserBody.safeParse({
    externalId: 'x',
    firstName: pii.firstName,
    lastName: pii.lastName,
    email: pii.email ?? null,
    phone: pii.phone ?? null,
  });
  expect(profile.error?.issues).toBeUndefined();
  const verification = startVerificationBody.safeParse({ firstName: pii.firstName, lastName: pii.lastName, dob: pii.dob, ssn: pii.ssn ?? null });
  expect(verification.error?.issues).toBeUndefined();
}

describe('partner PII, property', () => {
  it('accepted PII passes every later step, and is accepted again as stored (the form the GET shows is posted back)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(piiArb, (raw) => {
        const result = authRequestSchema.safeParse(request(raw));
        if (!result.success) return;
        accepted++;
        expectEveryLaterStepAccepts(result.data.pii);
        expect(piiSchema.parse(result.data.pii)).toEqual(result.data.pii);
      }),
      { numRuns: 5_000 },
    );
    // The generators are meant to produce both; a generator change that stops producing accepted PII would make this vacuous.
    expect(accepted).toBeGreaterThan(250);
  });

  it('refused PII is a VALIDATION_FAILED naming pii fields, with a stable reason', () => {
    fc.assert(
      fc.property(piiArb, (raw) => {
        let error: unknown;
        try {
          parseInput(authRequestSchema, request(raw));
          return;
        } catch (err) {
          error = err;
        }
        expect(isDomainError(error) && error.code).toBe('VALIDATION_FAILED');
        if (!isDomainError(error)) return;
        expect(error.fields.length).toBeGreaterThan(0);
        for (const f of error.fields) {
          expect(f.field).toMatch(/^pii\.(firstName|lastName|dob|email|phone|ssn|address\.(line1|city|state|postalCode))$/);
          expect(['required', 'too_long', 'too_short', 'invalid_characters', 'invalid_format', 'out_of_range']).toContain(f.reason);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('partner PII, examples', () => {
  const base = { firstName: 'Riya', lastName: 'Partner', dob: '1991-02-03' };
  const fieldsOf = (pii: unknown) => {
    try {
      parseInput(authRequestSchema, request(pii));
      return [];
    } catch (err) {
      return isDomainError(err) ? err.fields.map((f) => `${f.field}:${f.reason}`) : ['not a domain error'];
    }
  };

  it('names: the NUL of issue 14 §5, Keycloak characters, length', () => {
    expect(fieldsOf({ ...base, firstName: 'Ri\u0000ya' })).toEqual(['pii.firstName:invalid_characters']);
    expect(fieldsOf({ ...base, lastName: 'Partner (Bank)' })).toEqual(['pii.lastName:invalid_characters']);
    expect(fieldsOf({ ...base, firstName: 'x'.repeat(101) })).toEqual(['pii.firstName:too_long']);
    expect(fieldsOf({ ...base, firstName: '  ' })).toEqual(['pii.firstName:required']);
  });

  it('e-mail: what Keycloak refuses though zod takes it', () => {
    expect(fieldsOf({ ...base, email: `${'a'.repeat(65)}@example.com` })).toEqual(['pii.email:invalid_format']);
    expect(fieldsOf({ ...base, email: `a@${'b'.repeat(64)}.com` })).toEqual(['pii.email:invalid_format']);
    expect(fieldsOf({ ...base, email: 'a@bank-.com' })).toEqual(['pii.email:invalid_format']);
    expect(piiSchema.parse({ ...base, email: ' Riya.P@Example.COM ' }).email).toBe('riya.p@example.com');
  });

  it('phone: E.164 and valid in its numbering plan, kept in canonical form', () => {
    expect(fieldsOf({ ...base, phone: '+1234567' })).toEqual(['pii.phone:invalid_format']);
    expect(fieldsOf({ ...base, phone: '+1 415 555 0100' })).toEqual(['pii.phone:invalid_format']);
    expect(piiSchema.parse({ ...base, phone: '+4407911123456' }).phone).toBe('+447911123456');
  });

  it('address lines and KBA answers: no control or invisible characters', () => {
    const address = { line1: '1 Main St', city: 'Springfield', state: 'IL', postalCode: '62701' };
    expect(fieldsOf({ ...base, address: { ...address, line1: '1 Main\u0000St', city: 'Spring\u202efield' } })).toEqual([
      'pii.address.line1:invalid_characters',
      'pii.address.city:invalid_characters',
    ]);
    expect(fieldsOf({ ...base, address: { ...address, line1: 'Flat #4/5 (rear)' } })).toEqual([]);
    expect(kbaAnswersSchema.safeParse({ answers: [{ questionId: 'q1', answer: 'Blue\u0000' }] }).success).toBe(false);
    expect(kbaAnswersSchema.parse({ answers: [{ questionId: 'q1', answer: ' Blue ' }] }).answers[0]?.answer).toBe('Blue');
  });
});
