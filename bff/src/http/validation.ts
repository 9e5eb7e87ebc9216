import type { z } from 'zod';
import { DomainError, type FieldIssue } from '../kernel/errors.ts';

/**
 * The one request validator: the parsed value, or VALIDATION_FAILED naming every offending field by
 * its dotted path (`where` prefixes them, e.g. `query`, `header.Idempotency-Key`) with one reason of
 * one vocabulary (bff/openapi.yaml, Problem `fields[].reason`; docs/decisions/0023):
 *
 * - `required`: the field is missing (absent or undefined; `null` is a value, so `invalid_type`)
 * - `invalid_type`: present, but not the JSON type the field takes
 * - `not_allowed`: a field this request does not take, named by its own path (`pii.extra`)
 * - `too_short` / `too_long`: a string or a list shorter or longer than allowed
 * - `out_of_range`: a number or a date outside what is allowed
 * - `invalid_format`: a string without the expected form (e-mail, UUID, date, pattern, ...)
 * - `invalid_value`: not one of the allowed values (an enum, a literal, a discriminator)
 * - `invalid`: anything else
 *
 * A schema names a reason of its own with `params: { reason }` (e.g. `invalid_characters`, `one_of`).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, opts: { where?: string; message?: string } = {}): z.output<S> {
  // reportInput: zod 4 leaves the refused value out of issues unless asked, and without it a missing
  // field cannot be told from one of the wrong type. It is read only to tell them apart: no value
  // leaves this function (the problem and the logs carry fields and reasons only).
  const result = schema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const prefix = opts.where ? `${opts.where}.` : '';
  const fields = result.error.issues.flatMap((issue): FieldIssue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: `${prefix}${path ? `${path}.` : ''}${key}`, reason: 'not_allowed', message: 'This field cannot be set here' }));
    }
    const field = path ? `${prefix}${path}` : (opts.where ?? 'body');
    return [{ field, reason: reasonOf(issue), message: issue.message }];
  });
  throw new DomainError('VALIDATION_FAILED', opts.message ?? 'The request is not valid', { fields });
}

/** Sizes of these are amounts, not lengths. */
const MAGNITUDES = new Set(['number', 'int', 'bigint', 'date']);

function reasonOf(issue: z.core.$ZodIssue): string {
  const own = (issue as { params?: { reason?: unknown } }).params?.reason;
  if (typeof own === 'string') return own;
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : 'invalid_type';
    case 'invalid_union':
      // A discriminated union names the discriminator; its issue's input is the object holding it.
      if (issue.discriminator === undefined) return 'invalid';
      return (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator] === undefined ? 'required' : 'invalid_value';
    case 'too_small':
      return MAGNITUDES.has(issue.origin) ? 'out_of_range' : 'too_short';
    case 'too_big':
      return MAGNITUDES.has(issue.origin) ? 'out_of_range' : 'too_long';
    case 'invalid_format':
      return 'invalid_format';
    case 'invalid_value':
      return 'invalid_value';
    default:
      return 'invalid';
  }
}
