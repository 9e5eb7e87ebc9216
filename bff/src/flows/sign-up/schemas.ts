import { z } from 'zod';
import { isEmail, normaliseEmail, parsePhone } from '../../accounts/identifiers.ts';
import { personName } from '../../accounts/person-name.ts';
import { USERNAME_PATTERN } from '../../accounts/username.ts';
import type { Identifier } from '../../otp/verification-proofs.ts';

/**
 * Requests of the sign-up API (bff/openapi.yaml, tag sign-up). Objects are strict: a field the API
 * does not take (`emailVerified`, `phoneVerified`, `roles`, ...) is refused by name, not ignored.
 * Exactly one of `email` and `phone`; a phone is parsed with the default country into E.164.
 */
const reason = (r: string) => ({ params: { reason: r } });

function identifierFields(defaultPhoneCountry: string) {
  return {
    email: z
      .string()
      .max(254, { error: 'At most 254 characters' })
      .transform(normaliseEmail)
      .refine(isEmail, { error: 'Enter a valid email address', ...reason('invalid_format') })
      .optional(),
    phone: z
      .string()
      .max(32, { error: 'At most 32 characters' })
      .transform((raw) => parsePhone(raw, defaultPhoneCountry))
      .refine((v): v is string => v !== null, { error: 'Enter a valid phone number', ...reason('invalid_format') })
      .optional(),
  };
}

/** Both or neither: 400 naming `email` and `phone`. */
function exactlyOneIdentifier(body: { email?: string | undefined; phone?: string | undefined }, ctx: z.RefinementCtx): void {
  if (body.email !== undefined && body.phone !== undefined) {
    for (const path of ['email', 'phone']) {
      ctx.addIssue({ code: 'custom', path: [path], message: 'Give an email address or a phone number, not both', params: { reason: 'one_of' } });
    }
  } else if (body.email === undefined && body.phone === undefined) {
    for (const path of ['email', 'phone']) {
      ctx.addIssue({ code: 'custom', path: [path], message: 'Give an email address or a phone number', params: { reason: 'required' } });
    }
  }
}

const purpose = z.enum(['sign-up', 'change-identifier']).default('sign-up');
const language = z.enum(['en', 'hi']);

export function sendCodeBody(defaultPhoneCountry: string) {
  return z.strictObject({ ...identifierFields(defaultPhoneCountry), purpose, language: language.optional() }).superRefine(exactlyOneIdentifier);
}

export function verifyCodeBody(defaultPhoneCountry: string) {
  return z
    .strictObject({
      ...identifierFields(defaultPhoneCountry),
      purpose,
      code: z.string().regex(/^\d{6}$/, { error: 'Enter the 6-digit code', ...reason('invalid_format') }),
    })
    .superRefine(exactlyOneIdentifier);
}

const optionalText = (max: number) =>
  z.string().trim().max(max, { error: `At most ${max} characters` }).transform((v) => (v === '' ? undefined : v)).optional();

export function signUpBody(defaultPhoneCountry: string) {
  return z
    .strictObject({
      firstName: personName({ required: 'Enter your name' }),
      ...identifierFields(defaultPhoneCountry),
      password: z.string().min(1, { error: 'Choose a password', ...reason('required') }).max(128, { error: 'At most 128 characters' }),
      username: z
        .string()
        .trim()
        .toLowerCase()
        .refine((v) => USERNAME_PATTERN.test(v), {
          error: '3 or more of a-z, 0-9, ".", "_", "-", "@", starting with a letter or digit',
          ...reason('invalid_format'),
        })
        .optional(),
      channel: optionalText(255),
      organisationId: optionalText(255),
      proof: z.string().min(1, { error: 'Verify your email address or phone number first', ...reason('required') }).max(512),
    })
    .superRefine(exactlyOneIdentifier);
}

export type SignUpInput = z.output<ReturnType<typeof signUpBody>>;

/** The one identifier of a body that passed `exactlyOneIdentifier`. */
export function identifierOf(body: { email?: string | undefined; phone?: string | undefined }): Identifier {
  if (body.email !== undefined) return { kind: 'email', value: body.email };
  if (body.phone !== undefined) return { kind: 'phone', value: body.phone };
  throw new Error('identifierOf: neither email nor phone (schema not applied?)');
}
