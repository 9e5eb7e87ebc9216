import { isIP } from 'node:net';
import { z } from 'zod';
import { parseInput } from '../../http/validation.ts';
import type { ResetCodeCheck, ResetCodeRequest } from './use-cases.ts';

/** Bodies sent by Keycloak's platform-reset-credential step (bff/openapi.yaml, tag keycloak). */
const login = z.string().trim().min(1).max(255);
const userId = z.string().trim().min(1).max(64).optional();
const ip = z
  .string()
  .max(64)
  .refine((v) => isIP(v) !== 0, { error: 'An IP address', params: { reason: 'invalid_format' } });

const codeRequest = z.strictObject({ login, userId, language: z.string().max(35).optional(), ip });
const verifyRequest = z.strictObject({
  login,
  userId,
  ip,
  code: z.string().regex(/^\d{6}$/, { error: 'Six digits' }),
});

export const parseCodeRequest = (body: unknown): ResetCodeRequest => parseInput(codeRequest, body, { message: 'The password-reset code request is not valid' });
export const parseVerifyRequest = (body: unknown): ResetCodeCheck => parseInput(verifyRequest, body, { message: 'The password-reset code check is not valid' });
