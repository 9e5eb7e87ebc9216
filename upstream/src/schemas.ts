import { z } from 'zod';

/**
 * Request body schemas, one per operation of `upstream/openapi.yaml`. They normalise as they validate:
 * emails and usernames lower-case, strings trimmed. Unknown fields are rejected (additionalProperties:
 * false in the contract), so a typo never silently does nothing.
 */

export const E164 = /^\+[1-9][0-9]{6,14}$/;
export const USERNAME = /^[a-z0-9][a-z0-9._-]{2,63}$/;

export const externalId = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._:-]+$/);
const personName = z.string().trim().min(1).max(100);
const username = z.string().trim().toLowerCase().regex(USERNAME, 'expected 3-64 of a-z 0-9 . _ -, starting with a letter or digit');
const email = z.string().trim().toLowerCase().pipe(z.email().max(254));
const phone = z.string().trim().regex(E164, 'expected an E.164 phone number, e.g. +919876543210');
const role = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'expected an upper-case role name, e.g. PUBLIC');
const kbaQuestionId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);

export const orgId = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/);
export const channel = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/);
export const userId = z.uuid();

export const createUserBody = z.strictObject({
  externalId,
  firstName: personName,
  lastName: personName.nullish(),
  username: username.nullish(),
  email: email.nullish(),
  phone: phone.nullish(),
});
export type CreateUserBody = z.output<typeof createUserBody>;

export const profileChangesBody = z
  .strictObject({
    firstName: personName.optional(),
    lastName: personName.nullable().optional(),
    username: username.nullable().optional(),
    email: email.nullable().optional(),
    phone: phone.nullable().optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, { message: 'at least one field to change', params: { reason: 'required' } });
export type ProfileChangesBody = z.output<typeof profileChangesBody>;

export const searchBody = z.union(
  [
    z.strictObject({ username: z.string().trim().toLowerCase().min(1).max(64) }),
    z.strictObject({ email: z.string().trim().toLowerCase().min(1).max(254) }),
    z.strictObject({ phone }),
  ],
  { error: 'exactly one of username, email, phone' },
);

/** `replaces`: the value the caller knows to be stale; only then is a different externalId replaced. */
export const linkExternalIdBody = z.strictObject({ externalId, replaces: externalId.optional() });

export const statusBody = z.strictObject({ status: z.enum(['active', 'inactive']) });

export const membershipBody = z.strictObject({
  roles: z
    .array(role)
    .min(1)
    .max(20)
    .refine((roles) => new Set(roles).size === roles.length, { message: 'roles must be unique', params: { reason: 'duplicate' } }),
});

/** Query of the change feed: `after` a seq (0: from the start), at most `limit` rows. */
export const membershipChangesQuery = z.strictObject({
  after: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'expected a non-negative integer')
    .transform(Number)
    .default(0),
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/, 'expected an integer from 1 to 1000')
    .transform(Number)
    .pipe(z.number().max(1000))
    .default(100),
});

export const setPasswordBody = z.strictObject({ password: z.string().min(8).max(256) });

export const verifyPasswordBody = z.strictObject({
  login: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(256),
});

export const setKbaBody = z.strictObject({
  questions: z
    .array(
      z.strictObject({
        id: kbaQuestionId,
        text: z.string().trim().min(1).max(300),
        answer: z.string().trim().min(1).max(200),
      }),
    )
    .min(1)
    .max(10)
    .refine((qs) => new Set(qs.map((q) => q.id)).size === qs.length, {
      message: 'question ids must be unique',
      params: { reason: 'duplicate' },
    }),
});

export const verifyKbaBody = z.strictObject({
  answers: z
    .array(z.strictObject({ questionId: kbaQuestionId, answer: z.string().min(1).max(200) }))
    .min(1)
    .max(10),
});

const isoDate = z.iso.date();

export const identityRecordId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);
export const verificationId = z.uuid();

export const putIdentityRecordBody = z.strictObject({
  firstName: personName,
  lastName: personName,
  dob: isoDate,
  ssnLast4: z
    .string()
    .regex(/^[0-9]{4}$/)
    .nullish(),
  questions: setKbaBody.shape.questions,
});

export const startVerificationBody = z.strictObject({
  firstName: personName,
  lastName: personName,
  dob: isoDate,
  ssn: z
    .string()
    .trim()
    .regex(/^\d{3}-?\d{2}-?\d{4}$/)
    .nullish(),
});

export const verificationAnswersBody = verifyKbaBody;
