import { z } from 'zod';

/** The flow id of the path. */
export const flowParams = z.object({ flowId: z.uuid() });

/** The other account: its e-mail, phone number or username, and its password (and its app's code when it has one). */
export const passwordBody = z.strictObject({
  login: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(256),
  otp: z
    .string()
    .regex(/^\d{6,8}$/)
    .nullish()
    .transform((v) => v ?? null),
});

/** The steps without input take an empty object (or nothing). */
export const emptyBody = z.strictObject({});
