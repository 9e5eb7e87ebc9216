import { z } from 'zod';
import { emailOrPhoneField } from '../../accounts/identifiers.ts';

const text = z.string().trim().min(1).max(255);
const optional = z
  .string()
  .trim()
  .max(320)
  .nullish()
  .transform((v) => (v ? v : null));

/** What Keycloak's platform-state-claim authenticator says about the login session (bff/openapi.yaml). */
const identity = {
  identityProvider: text,
  brokeredUserId: text,
  brokeredUsername: optional,
  email: optional,
  phone: optional,
  firstName: optional,
  lastName: optional,
  stateUserId: optional,
  /** Keycloak's login session (root auth session id + tab id); only its hash is kept. */
  loginSession: z.string().min(1).max(512),
};

/** `locale`: the language of Keycloak's login (a BCP 47 tag), which the claim's pages keep (issue 17 §5). */
export const startBody = z.object({ ...identity, returnUrl: z.url().max(4096), locale: optional });
export const completeBody = z.object({ ...identity, handoffId: z.string().trim().min(1).max(64) });

/** The pages' forms (sent as JSON by pages/state-claim.js). */
// Strict: a field the step does not take (an account id, say) is refused, not quietly dropped.
export const identifierBody = (defaultPhoneCountry: string) => z.strictObject({ identifier: emailOrPhoneField(defaultPhoneCountry) });
export const codeBody = z.strictObject({
  code: z
    .string()
    .trim()
    .regex(/^\d{6}$/),
});
export const answerBody = z.strictObject({ answer: z.enum(['mine', 'not-mine']) });
/** The authenticator app's code (6 or 8 digits, as Keycloak's OTP policies allow). */
const appCode = z
  .string()
  .trim()
  .regex(/^\d{6}(\d{2})?$/, 'expected the 6-digit code of your authenticator app')
  .optional();
export const passwordBody = z.strictObject({ password: z.string().min(1).max(1024), otp: appCode });
/** The recovered account's new password: the realm's policy is Keycloak's to check (and ours first, actors.ts). */
export const newPasswordBody = z.strictObject({ password: z.string().min(1).max(1024), otp: appCode });
export const emptyBody = z.strictObject({});

export const auditQuery = z.object({
  flowId: z.uuid().optional(),
  userId: z.string().min(1).max(64).optional(),
  brokeredUserId: z.string().min(1).max(255).optional(),
  identifier: z.string().min(1).max(320).optional(),
  event: z.string().min(1).max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  first: z.coerce.number().int().min(0).default(0),
  max: z.coerce.number().int().min(1).max(200).default(50),
});
