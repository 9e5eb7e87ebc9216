import { z } from 'zod';
import { parseInput } from '../../http/validation.ts';
import type { BrokeredLoginRequest } from './use-cases.ts';

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
  return parseInput(brokeredLoginRequest, body, { message: 'The brokered-login request is not valid' });
}
