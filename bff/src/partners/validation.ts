import type { z } from 'zod';
import { DomainError, type FieldIssue } from '../kernel/errors.ts';

/** `schema` applied to untrusted input; every issue becomes a named field of one VALIDATION_FAILED. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, message = 'The request is not valid'): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: FieldIssue[] = result.error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : 'body',
    reason: reasonOf(issue),
    // zod's message describes the rule, never the value.
    message: issue.message,
  }));
  throw new DomainError('VALIDATION_FAILED', message, { fields });
}

function reasonOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'required';
  if (issue.code === 'unrecognized_keys') return 'unknown';
  if (issue.code === 'custom' && typeof issue.params?.reason === 'string') return issue.params.reason;
  return issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_format';
}

/** appKeys and client ids: what can travel in a URL path and a Keycloak client id unescaped. */
export const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/;
