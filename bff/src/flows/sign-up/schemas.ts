import { z } from 'zod';
import { exactlyOneIdentifier, identifierFields } from '../../accounts/identifiers.ts';
import { personName } from '../../accounts/person-name.ts';
import { USERNAME_PATTERN } from '../../accounts/username.ts';

/**
 * The request of `POST /api/v1/signup` (bff/openapi.yaml, tag sign-up; the code routes' requests are
 * otp/schemas.ts). Strict: a field the API does not take (`emailVerified`, `phoneVerified`, `roles`,
 * ...) is refused by name, not ignored. Exactly one of `email` and `phone`; a phone is parsed with the
 * default country into E.164.
 */
const reason = (r: string) => ({ params: { reason: r } });

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { error: `At most ${max} characters` })
    .transform((v) => (v === '' ? undefined : v))
    .optional();

export function signUpBody(defaultPhoneCountry: string) {
  return z
    .strictObject({
      firstName: personName({ required: 'Enter your name' }),
      ...identifierFields(defaultPhoneCountry),
      password: z
        .string()
        .min(1, { error: 'Choose a password', ...reason('required') })
        .max(128, { error: 'At most 128 characters' }),
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
      proof: z
        .string()
        .min(1, { error: 'Verify your email address or phone number first', ...reason('required') })
        .max(512),
    })
    .superRefine(exactlyOneIdentifier);
}

export type SignUpInput = z.output<ReturnType<typeof signUpBody>>;

/** Keycloak's redeem of a sign-in ticket (internal route); the ticket's own shape is the store's to judge (404). */
export const redeemTicketBody = z.strictObject({
  ticket: z.string().min(1).max(256),
  tabId: z.string().min(1).max(256),
});
