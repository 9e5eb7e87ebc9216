import { z } from 'zod';
import { e164PhoneField, strictEmailField } from '../../accounts/identifiers.ts';
import { freeText, personName } from '../../accounts/person-name.ts';
import { PARTNER_ID } from '../../partners/partner-ids.ts';

/**
 * Everything accepted here must be acceptable to every later step (issue 14 §5): Keycloak's user
 * profile (person names, the e-mail and phone attributes), the upstream core's contract (names,
 * dob, ssn), the username generated from the name. A field that would fail there is a 400 naming it
 * at the POST, never a token that cannot be finished.
 */

/** Dates only as YYYY-MM-DD of a real day, in the past, for someone at most 130 years old. */
const dob = z.iso.date('expected a date as YYYY-MM-DD').refine(
  (value) => {
    const date = new Date(`${value}T00:00:00Z`);
    const now = Date.now();
    return date.getTime() < now && date.getUTCFullYear() > new Date(now).getUTCFullYear() - 130;
  },
  { message: 'expected a date of birth in the past', params: { reason: 'out_of_range' } },
);

export const piiSchema = z.strictObject({
  firstName: personName(),
  lastName: personName(),
  dob,
  email: strictEmailField().optional(),
  phone: e164PhoneField().optional(),
  ssn: z
    .string()
    .trim()
    .regex(/^\d{3}-?\d{2}-?\d{4}$/, 'expected 9 digits, e.g. 123-45-6789')
    .optional(),
  address: z
    .strictObject({
      line1: freeText(200),
      city: freeText(100),
      state: freeText(50).refine((state) => state.length >= 2, { message: 'At least 2 characters', params: { reason: 'too_short' } }),
      postalCode: z
        .string()
        .trim()
        .regex(/^[A-Za-z0-9 -]{3,10}$/, 'expected a postal code'),
    })
    .optional(),
});
export type Pii = z.output<typeof piiSchema>;

export const authRequestSchema = z.strictObject({
  appKey: z.string().regex(PARTNER_ID, 'expected an appKey'),
  dbpUserId: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'expected 1-255 visible ASCII characters'),
  pii: piiSchema,
});
export type AuthRequest = z.output<typeof authRequestSchema>;

export const startKbaSchema = z.strictObject({ pii: piiSchema });

export const kbaAnswersSchema = z.strictObject({
  answers: z
    .array(z.strictObject({ questionId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/), answer: freeText(200) }))
    .min(1)
    .max(10),
});

/** authTokens are 32 random bytes, base64url: anything else cannot be one (404, no lookup). */
export const AUTH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Idempotency-Key header: what Stripe and the IETF draft allow in practice. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
