import { z } from 'zod';
import { parseInput } from '../../http/validation.ts';
import type { SignInRequest } from './use-cases.ts';

const login = z.string().trim().min(1).max(255);

/** Bodies sent by Keycloak's platform-upstream-password / platform-upstream-reset (bff/openapi.yaml). */
const signInRequest = z.strictObject({
  login,
  // Not trimmed: a password is what it is. Bounded like the realm's maxLength(128) policy, with room.
  password: z.string().min(1).max(1024),
  userId: z.string().trim().min(1).max(64).optional(),
});
const resetRequest = z.strictObject({ login });

export const parseSignInRequest = (body: unknown): SignInRequest => parseInput(signInRequest, body, { message: 'The upstream-login request is not valid' });
export const parseResetRequest = (body: unknown): { login: string } => parseInput(resetRequest, body, { message: 'The upstream-reset request is not valid' });
