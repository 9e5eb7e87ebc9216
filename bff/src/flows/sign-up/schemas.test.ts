import { describe, expect, it } from 'vitest';
import { parseInput } from '../../http/validation.ts';
import { DomainError } from '../../kernel/errors.ts';
import { signUpBody } from './schemas.ts';

const body = { firstName: 'Asha', email: 'asha@example.com', password: 'x', proof: 'p' };

function fieldsOf(input: unknown): string[] {
  try {
    parseInput(signUpBody('IN'), input);
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
    expect(parseInput(signUpBody('IN'), { ...body, firstName: ' Jose\u0301 ' }).firstName).toBe('José');
  });
});
