import { z } from 'zod';
import { emailField, phoneField } from '../../accounts/identifiers.ts';
import { personName } from '../../accounts/person-name.ts';
import { LANGUAGES } from '../../kernel/languages.ts';

/**
 * Requests of the user-management API. Objects are strict: a field the route does not take (`id`,
 * `username`, `roles`, `emailVerified`, ...) is refused by name instead of being ignored, so nobody
 * believes they changed something they cannot change.
 */
const reason = (r: string) => ({ params: { reason: r } });

const name = personName();
const email = emailField();
const password = z.string().min(1, { error: 'Enter the password' }).max(128, { error: 'At most 128 characters' });
/** An OTP verification proof (POST /api/v1/otp/verify); its content is checked by VerificationProofs. */
const proof = z.string().min(1, { error: 'Enter the proof' }).max(512, { error: 'At most 512 characters' });
/** One of the realm's user types: its form here, the value against the realm's list in the use cases (accounts/user-types.ts). */
const userType = z
  .string()
  .trim()
  .max(64, { error: 'At most 64 characters' })
  .refine((v) => v !== '', { error: 'Choose a user type', ...reason('required') });

export const registerBody = z.strictObject({
  firstName: name,
  lastName: name.optional(),
  email,
  password,
  userType: userType.optional(),
});
export type RegisterInput = z.output<typeof registerBody>;

/** The authenticator app's code: Keycloak requires it, besides the password, once an account has one. */
const otp = z
  .string()
  .trim()
  .regex(/^\d{6}(\d{2})?$/, { error: 'Enter the 6-digit code of your authenticator app', ...reason('invalid_format') });

export const loginBody = z.strictObject({ email, password, otp: otp.optional() });
export type LoginInput = z.output<typeof loginBody>;

export const sendBody = z.strictObject({ email });

/** Extra query parameters (a mail client's tracking ones) do not break the link. */
export const confirmQuery = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'Open the link from the mail as it is' }),
});

/** `Idempotency-Key` of a registration: printable ASCII. */
export const idempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/, { error: 'Up to 255 printable ASCII characters' });

/** Absent fields are kept; `null` removes `lastName` or `phone`. */
export function profileUpdateBody(defaultPhoneCountry: string) {
  const phone = phoneField(defaultPhoneCountry);
  return z
    .strictObject({
      firstName: name.optional(),
      lastName: name.nullable().optional(),
      email: email.optional(),
      emailProof: proof.optional(),
      phone: phone.nullable().optional(),
      phoneProof: proof.optional(),
      /** The account's language (Keycloak's `locale`), as the portal's picker sets it. */
      language: z.enum(LANGUAGES, { error: "One of the platform's languages", ...reason('invalid_value') }).optional(),
      /** One of the realm's user types (`GET /api/v1/user-types`); people choose it themselves (decision 0036). */
      userType: userType.optional(),
    })
    .refine((b) => Object.keys(b).length > 0, { error: 'Send at least one field to change', path: ['body'], ...reason('empty') });
}
export type ProfileUpdate = z.output<ReturnType<typeof profileUpdateBody>>;

export const userListQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
  name: z.string().trim().min(1).max(100).optional(),
  email: z.string().trim().toLowerCase().min(1).max(254).optional(),
  status: z.enum(['enabled', 'disabled']).optional(),
});
export type UserListQuery = z.output<typeof userListQuery>;
