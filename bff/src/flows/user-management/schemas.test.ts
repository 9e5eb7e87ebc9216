import { describe, expect, it } from 'vitest';
import { DomainError } from '../../kernel/errors.ts';
import { parseInput } from '../../http/validation.ts';
import { idempotencyKey, loginBody, profileUpdateBody, registerBody, userListQuery } from './schemas.ts';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') return err.fields.map((f) => `${f.field}:${f.reason}`).sort();
    throw err;
  }
  throw new Error('parsed');
}

describe('request schemas', () => {
  it('normalise what they accept', () => {
    expect(parseInput(registerBody, { firstName: ' Asha ', email: ' Asha@Example.COM ', password: 'x' })).toEqual({
      firstName: 'Asha',
      email: 'asha@example.com',
      password: 'x',
    });
    expect(parseInput(profileUpdateBody('IN'), { phone: '98765 43210', lastName: null })).toEqual({ phone: '+919876543210', lastName: null });
    expect(parseInput(userListQuery, { page: '2', status: 'disabled' })).toEqual({ page: 2, pageSize: 20, status: 'disabled' });
  });

  it('name every bad field with a stable reason: required, invalid_format, too_long, not_allowed', () => {
    expect(fieldsOf(() => parseInput(registerBody, { email: 'a@b', password: 'p'.repeat(129), isAdmin: true }))).toEqual([
      'email:invalid_format',
      'firstName:required',
      'isAdmin:not_allowed',
      'password:too_long',
    ]);
    expect(fieldsOf(() => parseInput(loginBody, undefined))).toEqual(['email:required', 'password:required']);
    expect(fieldsOf(() => parseInput(registerBody, { firstName: 7, email: 'a@b.co', password: 'x' }))).toEqual(['firstName:invalid_type']);
  });

  it('take names by the shared person-name rule: what Keycloak and the upstream core would refuse is a 400 here (issue 14 §5)', () => {
    expect(fieldsOf(() => parseInput(registerBody, { firstName: 'As\u0000ha', lastName: 'x'.repeat(101), email: 'a@b.co', password: 'x' }))).toEqual([
      'firstName:invalid_characters',
      'lastName:too_long',
    ]);
    expect(fieldsOf(() => parseInput(profileUpdateBody('IN'), { firstName: '  ', lastName: 'Rao (Dr)' }))).toEqual([
      'firstName:required',
      'lastName:invalid_characters',
    ]);
  });

  it('refuse identity fields and empty changes of a profile update', () => {
    expect(fieldsOf(() => parseInput(profileUpdateBody('IN'), { id: 'x', username: 'y', firstName: 'Z' }))).toEqual(['id:not_allowed', 'username:not_allowed']);
    expect(fieldsOf(() => parseInput(profileUpdateBody('IN'), {}))).toEqual(['body:empty']);
    expect(fieldsOf(() => parseInput(profileUpdateBody('IN'), { phone: '12345' }))).toEqual(['phone:invalid_format']);
  });

  it('prefix query and header fields with where they came from', () => {
    expect(fieldsOf(() => parseInput(userListQuery, { pageSize: '0', extra: '1' }, { where: 'query' }))).toEqual([
      'query.extra:not_allowed',
      'query.pageSize:out_of_range',
    ]);
    expect(fieldsOf(() => parseInput(idempotencyKey, 'with space', { where: 'header.Idempotency-Key' }))).toEqual(['header.Idempotency-Key:invalid_format']);
  });
});
