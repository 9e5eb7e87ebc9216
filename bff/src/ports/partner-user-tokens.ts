/**
 * Access tokens that Keycloak issues for a platform user on the BFF's word, without the user signing
 * in: the partner API's userTokens (seed 003). Least privilege: audience `platform-partner-api` only,
 * no roles, and the partner they were issued for in `act.client_id`. See
 * docs/decisions/0009-partner-user-token.md and docs/tokens.md.
 *
 * Errors: IDENTITY_DIRECTORY_UNAVAILABLE (Keycloak did not answer), IDENTITY_DIRECTORY_FAILED
 * (Keycloak refused: user disabled or gone, client or IdP misconfigured).
 */
/** The one audience of userTokens (client scope `partner-user`, realm-config): the platform API partners call for the user. */
export const PARTNER_API_AUDIENCE = 'platform-partner-api';

export interface PartnerUserToken {
  /** A Keycloak access token, `sub` = the user, verifiable against the realm's JWKS. */
  accessToken: string;
  expiresAt: Date;
}

export interface PartnerUserTokens {
  /** Makes the user eligible for `issue` (idempotent); part of enrolling a partner user. */
  enable(userId: string): Promise<void>;
  /** A userToken of `userId` for the partner client `partnerClientId` (recorded in the token). */
  issue(userId: string, partnerClientId: string): Promise<PartnerUserToken>;
}
