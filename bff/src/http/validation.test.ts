import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError } from '../kernel/errors.ts';
import { parseInput } from './validation.ts';

function refusal(schema: z.ZodType, input: unknown, opts?: { where?: string; message?: string }): DomainError {
  try {
    parseInput(schema, input, opts);
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('parsed');
}
const fieldsOf = (schema: z.ZodType, input: unknown, opts?: { where?: string }) =>
  refusal(schema, input, opts)
    .fields.map((f) => `${f.field}:${f.reason}`)
    .sort();

const person = z.strictObject({
  name: z.string().trim().min(1).max(5),
  age: z.number().int().min(0).max(130).optional(),
  kind: z.enum(['a', 'b']).optional(),
  email: z.email().optional(),
  tags: z.array(z.string()).max(2).optional(),
  pii: z.strictObject({ dob: z.iso.date() }).optional(),
});

describe('parseInput: one vocabulary of reasons', () => {
  it('tells a missing field (required) from one of the wrong type, null included (invalid_type)', () => {
    expect(fieldsOf(person, {})).toEqual(['name:required']);
    expect(fieldsOf(person, { name: undefined })).toEqual(['name:required']);
    expect(fieldsOf(person, { name: null })).toEqual(['name:invalid_type']);
    expect(fieldsOf(person, { name: 7 })).toEqual(['name:invalid_type']);
    expect(fieldsOf(person, { name: 'x', pii: {} })).toEqual(['pii.dob:required']);
    expect(fieldsOf(person, { name: 'x', pii: { dob: 19900101 } })).toEqual(['pii.dob:invalid_type']);
  });

  it('names an unknown field by its own path, not its parent', () => {
    expect(fieldsOf(person, { name: 'x', role: 'admin', pii: { dob: '1990-01-01', extra: 1, more: 2 } })).toEqual([
      'pii.extra:not_allowed',
      'pii.more:not_allowed',
      'role:not_allowed',
    ]);
  });

  it('lengths are too_short / too_long, amounts out_of_range, forms invalid_format, choices invalid_value', () => {
    expect(fieldsOf(person, { name: '  ' })).toEqual(['name:too_short']);
    expect(fieldsOf(person, { name: 'abcdef', tags: ['a', 'b', 'c'] })).toEqual(['name:too_long', 'tags:too_long']);
    expect(fieldsOf(person, { name: 'x', age: -1 })).toEqual(['age:out_of_range']);
    expect(fieldsOf(person, { name: 'x', age: 131 })).toEqual(['age:out_of_range']);
    expect(fieldsOf(person, { name: 'x', email: 'nope', pii: { dob: '1990-13-45' } })).toEqual(['email:invalid_format', 'pii.dob:invalid_format']);
    expect(fieldsOf(person, { name: 'x', kind: 'c' })).toEqual(['kind:invalid_value']);
  });

  it('a discriminator missing is required, one of no option invalid_value', () => {
    const union = z.discriminatedUnion('stage', [z.object({ stage: z.literal('a') }), z.object({ stage: z.literal('b'), x: z.string() })]);
    expect(fieldsOf(union, {})).toEqual(['stage:required']);
    expect(fieldsOf(union, { stage: 'c' })).toEqual(['stage:invalid_value']);
    expect(fieldsOf(union, { stage: 'b' })).toEqual(['x:required']);
  });

  it("keeps a schema's own reason (params.reason)", () => {
    const schema = z.strictObject({ dob: z.string().refine((v) => v < '2000', { message: 'too late', params: { reason: 'out_of_range' } }) });
    expect(fieldsOf(schema, { dob: '2020' })).toEqual(['dob:out_of_range']);
  });

  it('prefixes fields with where they came from; a refused root is named by it (or body)', () => {
    expect(fieldsOf(person, { name: 'x', extra: 1 }, { where: 'query' })).toEqual(['query.extra:not_allowed']);
    expect(fieldsOf(z.string().regex(/^\S+$/), 'with space', { where: 'header.Idempotency-Key' })).toEqual(['header.Idempotency-Key:invalid_format']);
    expect(fieldsOf(person, [])).toEqual(['body:invalid_type']);
    expect(fieldsOf(person, undefined)).toEqual(['name:required']);
    expect(refusal(person, {}, { message: 'The query is not valid' }).message).toBe('The query is not valid');
  });

  it('never carries the refused value: not in the fields, not in the error', () => {
    const secret = 'hunter2-secret-value';
    const err = refusal(z.strictObject({ password: z.string().max(5), pin: z.number() }), { password: secret, pin: secret, extra: secret });
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.cause).toBeUndefined();
    expect(JSON.stringify({ message: err.message, fields: err.fields, details: err.details })).not.toContain('hunter2');
    expect(err.fields.map((f) => f.reason).sort()).toEqual(['invalid_type', 'not_allowed', 'too_long']);
  });
});
