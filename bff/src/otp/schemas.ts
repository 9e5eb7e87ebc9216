import { z } from 'zod';
import { exactlyOneIdentifier, identifierFields } from '../accounts/identifiers.ts';
import { LANGUAGES } from '../kernel/languages.ts';

/**
 * Requests of the code routes (bff/openapi.yaml, tag sign-up: `POST /api/v1/otp`, `/otp/verify`).
 * Strict objects; exactly one of `email` and `phone`, a phone parsed with the default country into
 * E.164. The purposes a person may ask a code for here: the state claim asks for its own codes itself.
 */
const invalidFormat = { params: { reason: 'invalid_format' } };
const purpose = z.enum(['sign-up', 'change-identifier']).default('sign-up');

export function sendCodeBody(defaultPhoneCountry: string) {
  return z.strictObject({ ...identifierFields(defaultPhoneCountry), purpose, language: z.enum(LANGUAGES).optional() }).superRefine(exactlyOneIdentifier);
}

export function verifyCodeBody(defaultPhoneCountry: string) {
  return z
    .strictObject({
      ...identifierFields(defaultPhoneCountry),
      purpose,
      code: z.string().regex(/^\d{6}$/, { error: 'Enter the 6-digit code', ...invalidFormat }),
    })
    .superRefine(exactlyOneIdentifier);
}
