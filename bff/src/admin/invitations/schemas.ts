import { z } from 'zod';
import { personName } from '../../accounts/person-name.ts';
import { LANGUAGES } from '../../kernel/languages.ts';
import { ROLE_PATTERN } from '../../invitations/invitations.ts';

/**
 * An invitation as the admin API and `npm run members -- invite` take it. Exactly one of `email` and
 * `phone` (the phone in any form; the service makes it E.164 with DEFAULT_PHONE_COUNTRY).
 */
export const createInvitationBody = z
  .strictObject({
    email: z.string().max(254).optional(),
    phone: z.string().max(32).optional(),
    role: z.string().regex(ROLE_PATTERN, 'A role is upper case letters, digits and _ (e.g. TEACHER)').optional(),
    userId: z.uuid().optional(),
    stateUserId: z.string().trim().min(1).max(128).optional(),
    firstName: personName().optional(),
    lastName: personName().optional(),
    locale: z.enum(LANGUAGES).optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.email === undefined) === (body.phone === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['email'], message: 'Give exactly one of email and phone', params: { reason: 'exactly_one' } });
    }
  });
export type CreateInvitationBody = z.output<typeof createInvitationBody>;

export const INVITATION_STATUSES = ['pending', 'accepted', 'revoked', 'expired'] as const;

export const listInvitationsQuery = z.strictObject({ status: z.enum(INVITATION_STATUSES).optional() });
