import { describe, expect, it } from 'vitest';
import { parseInput } from '../../http/validation.ts';
import { DomainError } from '../../kernel/errors.ts';
import { signUpBody } from './schemas.ts';

const OPTS = { defaultPhoneCountry: 'IN', keycloakUrl: 'http://localhost:8080', realm: 'platform' };
const body = { firstName: 'Asha', userType: 'teacher', email: 'asha@example.com', password: 'x', proof: 'p' };

function fieldsOf(input: unknown): string[] {
  try {
    parseInput(signUpBody(OPTS), input);
  } catch (err) {
    if (err instanceof DomainError) return err.fields.map((f) => `${f.field}:${f.reason}`);
    throw err;
  }
  return [];
}

describe('sign-up body', () => {
  it('takes the name by the shared person-name rule (issue 14 §5): refused here, not by Keycloak or the upstream core after the OTP', () => {
    expect(fieldsOf({ ...body, firstName: 'As\u0000ha' })).toEqual(['firstName:invalid_characters']);
    expect(fieldsOf({ ...body, firstName: '<b>Asha</b>' })).toEqual(['firstName:invalid_characters']);
    expect(fieldsOf({ ...body, firstName: 'x'.repeat(101) })).toEqual(['firstName:too_long']);
    expect(fieldsOf({ ...body, firstName: ' ' })).toEqual(['firstName:required']);
    expect(parseInput(signUpBody(OPTS), { ...body, firstName: ' Jose\u0301 ' }).firstName).toBe('José');
  });

  it('takes an optional last name (empty is none) and a restart URL of the realm as returnUrl', () => {
    expect(parseInput(signUpBody(OPTS), { ...body, lastName: ' ' }).lastName).toBeUndefined();
    expect(parseInput(signUpBody(OPTS), { ...body, lastName: ' शर्मा ' }).lastName).toBe('शर्मा');
    expect(fieldsOf({ ...body, lastName: '<b>' })).toEqual(['lastName:invalid_characters']);
    const returnUrl = '/realms/platform/login-actions/restart?client_id=portal&tab_id=t1';
    expect(parseInput(signUpBody(OPTS), { ...body, returnUrl }).returnUrl).toEqual({ clientId: 'portal', tabId: 't1' });
    expect(fieldsOf({ ...body, returnUrl: 'https://evil.example/' })).toEqual(['returnUrl:invalid_format']);
    expect(fieldsOf({ ...body, returnUrl: 'http://localhost:8080/realms/platform/account/' })).toEqual(['returnUrl:invalid_format']);
  });

  it('requires a user type (its value is checked against the realm in use-cases.ts)', () => {
    const { userType: _, ...without } = body;
    expect(fieldsOf(without)).toEqual(['userType:required']);
    expect(fieldsOf({ ...body, userType: ' ' })).toEqual(['userType:required']);
    expect(fieldsOf({ ...body, userType: 7 })).toEqual(['userType:invalid_type']);
    expect(parseInput(signUpBody(OPTS), { ...body, userType: ' other ' }).userType).toBe('other');
  });
});
