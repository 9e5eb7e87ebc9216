import { DomainError } from '../../kernel/errors.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import type { DirectoryUser } from '../../ports/identity-directory.ts';

/** What a partner sees of the user a userToken names: identity facts only (issue 14 §1). */
export interface PartnerUserView {
  userId: string;
  username: string;
  firstName?: string;
  lastName?: string;
  partner: { clientId: string };
}

/**
 * The user of a userToken, for the partner the token names (`act.client_id`). The token and the
 * account's state were checked by the route (`requireAccessToken`); the partner must still be enabled.
 */
export async function userForPartner(
  deps: { partners: Pick<PartnerStore, 'getPartner'> },
  user: DirectoryUser,
  partnerClientId: string,
): Promise<PartnerUserView> {
  const partner = await deps.partners.getPartner(partnerClientId);
  if (!partner?.enabled) throw new DomainError('FORBIDDEN', 'The partner of this userToken is not enabled');
  return {
    userId: user.id,
    username: user.username,
    ...(user.firstName ? { firstName: user.firstName } : {}),
    ...(user.lastName ? { lastName: user.lastName } : {}),
    partner: { clientId: partnerClientId },
  };
}
