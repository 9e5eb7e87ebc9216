import { z } from 'zod';
import { exactlyOneIdentifier, identifierFields } from '../../accounts/identifiers.ts';
import { personName } from '../../accounts/person-name.ts';
import { USERNAME_PATTERN } from '../../accounts/username.ts';
import { LANGUAGES } from '../../kernel/languages.ts';
import { type KeycloakRealm, restartTargetOf } from './return-url.ts';

/**
 * The requests of `POST /api/v1/signup/check` and `POST /api/v1/signup` (bff/openapi.yaml, tag
 * sign-up; the code routes' requests are otp/schemas.ts). Strict: a field the API does not take
 * (`emailVerified`, `phoneVerified`, `roles`, ...) is refused by name, not ignored. Exactly one of
 * `email` and `phone`; a phone is parsed with the default country into E.164. Messages are the API's
 * voice; the page shows its own words by `field` and `reason`.
 */
const reason = (r: string) => ({ params: { reason: r } });

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { error: `At most ${max} characters` })
    .transform((v) => (v === '' ? undefined : v))
    .optional();

/** A last name is optional in the realm's user profile (user-profile.json): empty is none. */
const optionalName = z
  .string()
  .transform((v) => (v.trim() === '' ? undefined : v))
  .pipe(personName().optional());

/** The details a person chooses, checked alike before a code is sent and at creation. */
function detailFields(defaultPhoneCountry: string) {
  return {
    firstName: personName({ required: 'Enter your first name' }),
    lastName: optionalName.optional(),
    // One of the realm's user types (accounts/user-types.ts): its form here, the value against the realm in use-cases.ts.
    userType: z
      .string({ error: 'Choose a user type' })
      .trim()
      .max(64, { error: 'At most 64 characters' })
      .refine((v) => v !== '', { error: 'Choose a user type', ...reason('required') }),
    ...identifierFields(defaultPhoneCountry),
    password: z
      .string()
      .min(1, { error: 'Choose a password', ...reason('required') })
      .max(128, { error: 'At most 128 characters' }),
    username: z
      .string()
      .trim()
      .toLowerCase()
      .transform((v) => (v === '' ? undefined : v))
      .refine((v) => v === undefined || USERNAME_PATTERN.test(v), {
        error: '3 or more of a-z, 0-9, ".", "_", "-", "@", starting with a letter or digit',
        ...reason('invalid_format'),
      })
      .optional(),
    channel: optionalText(255),
    organisationId: optionalText(255),
  };
}

/** `POST /api/v1/signup/check`: the details, no proof. Its fields one by one are `checkFields`, for the checks that go on past a bad field. */
export function checkBody(defaultPhoneCountry: string) {
  return z.strictObject(detailFields(defaultPhoneCountry)).superRefine(exactlyOneIdentifier);
}
export const checkFields = (defaultPhoneCountry: string) => detailFields(defaultPhoneCountry);

export type CheckInput = z.output<ReturnType<typeof checkBody>>;

export function signUpBody(opts: KeycloakRealm & { defaultPhoneCountry: string }) {
  return z
    .strictObject({
      ...detailFields(opts.defaultPhoneCountry),
      proof: z
        .string()
        .min(1, { error: 'Verify your email address or phone number first', ...reason('required') })
        .max(512),
      // The language the person signed up in: the account's (Keycloak's `locale`: its pages and mails).
      language: z.enum(LANGUAGES).optional(),
      // The authorization request to finish signed in (decision 0027): Keycloak's restart URL of this realm.
      returnUrl: z
        .string()
        .max(2048)
        .transform((raw) => restartTargetOf(raw, opts))
        .refine((target) => target !== undefined, { error: "Keycloak's restart URL of this realm, with client_id and tab_id", ...reason('invalid_format') })
        .optional(),
    })
    .superRefine(exactlyOneIdentifier);
}

export type SignUpInput = z.output<ReturnType<typeof signUpBody>>;

/** Keycloak's redeem of a sign-in ticket (internal route); the ticket's own shape is the store's to judge (404). */
export const redeemTicketBody = z.strictObject({
  ticket: z.string().min(1).max(256),
  tabId: z.string().min(1).max(256),
});
