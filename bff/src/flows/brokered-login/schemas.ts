import { z } from 'zod';
import { DomainError } from '../../kernel/errors.ts';
import type { BrokeredLoginRequest } from './brokered-login.ts';

const text = z.string().trim().min(1).max(255);
const common = {
  identityProvider: text,
  /** The person's id at the identity provider. */
  brokeredUserId: text,
  brokeredEmail: z.string().trim().max(320).nullish(),
};

/** The body Keycloak's platform-bff-check authenticator sends (bff/openapi.yaml, BrokeredLoginRequest). */
const brokeredLoginRequest = z.discriminatedUnion('stage', [
  z.object({ stage: z.literal('before-account'), ...common }),
  z.object({ stage: z.literal('after-login'), ...common, userId: text }),
]);

export function parseBrokeredLoginRequest(body: unknown): BrokeredLoginRequest {
  const parsed = brokeredLoginRequest.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new DomainError('VALIDATION_FAILED', 'The brokered-login request is not valid', {
    fields: parsed.error.issues.map((i) => ({
      field: i.path.join('.') || 'body',
      reason: i.code === 'invalid_type' && i.input === undefined ? 'required' : 'invalid',
      message: i.message,
    })),
  });
}
