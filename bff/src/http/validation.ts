import type { z } from 'zod';
import { DomainError, type FieldIssue } from '../kernel/errors.ts';

/**
 * Request validation with zod: the parsed value, or VALIDATION_FAILED naming every offending field
 * (dotted paths; `where` prefixes them, e.g. `query`, `header.Idempotency-Key`). A schema refinement
 * can name its reason with `params: { reason }`; unknown fields of strict objects are `not_allowed`.
 */
const REASONS: Record<string, string> = {
  too_small: 'too_short',
  too_big: 'too_long',
  invalid_format: 'invalid_format',
  invalid_value: 'invalid_value',
  invalid_type: 'invalid_type',
};

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, opts: { where?: string } = {}): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const prefix = opts.where ? `${opts.where}.` : '';
  const fields = result.error.issues.flatMap((issue): FieldIssue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: `${prefix}${path ? `${path}.` : ''}${key}`, reason: 'not_allowed', message: 'This field cannot be set here' }));
    }
    const field = path ? `${prefix}${path}` : (opts.where ?? 'body');
    if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
      return [{ field, reason: 'required', message: 'This field is required' }];
    }
    const reason = (issue as { params?: { reason?: string } }).params?.reason;
    return [{ field, reason: reason ?? REASONS[issue.code] ?? 'invalid', message: issue.message }];
  });
  throw new DomainError('VALIDATION_FAILED', 'The request is not valid', { fields });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
