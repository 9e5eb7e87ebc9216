import { z } from 'zod';
import { DomainError } from '../../kernel/errors.ts';
import type { SignInRequest } from './upstream-login.ts';

const login = z.string().trim().min(1).max(255);

/** Bodies sent by Keycloak's platform-upstream-password / platform-upstream-reset (bff/openapi.yaml). */
const signInRequest = z.strictObject({
  login,
  // Not trimmed: a password is what it is. Bounded like the realm's maxLength(128) policy, with room.
  password: z.string().min(1).max(1024),
  userId: z.string().trim().min(1).max(64).optional(),
});
const resetRequest = z.strictObject({ login });

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new DomainError('VALIDATION_FAILED', `The ${what} request is not valid`, {
    fields: parsed.error.issues.map((i) => ({
      field: i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(',') : 'body'),
      reason: i.code === 'invalid_type' && i.input === undefined ? 'required' : i.code === 'unrecognized_keys' ? 'unknown' : 'invalid',
      message: i.message,
    })),
  });
}

export const parseSignInRequest = (body: unknown): SignInRequest => parse(signInRequest, body, 'upstream-login');
export const parseResetRequest = (body: unknown): { login: string } => parse(resetRequest, body, 'upstream-reset');
