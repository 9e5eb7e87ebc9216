/**
 * Accounts linked to an external identity (Keycloak's federated identities) and signing them in with
 * the external provider's own token (decision 0037). Keycloak's errors come back as our codes.
 */
export interface FederatedAccounts {
  /** The account linked to `subject` at `provider` (an identity-provider alias), or null. */
  findLinked(provider: string, subject: string): Promise<string | null>;
  /** Links `userId` to `subject` at `provider`; linked already to the same subject: nothing happens. */
  link(userId: string, link: { provider: string; subject: string; username: string }): Promise<void>;
  /**
   * Keycloak's tokens for the account linked to the token's subject: Keycloak checks the provider's
   * token once more (its JWKS, issuer, audience, expiry) with its JWT authorization grant. A refusal
   * (not linked, disabled, an unfinished account) is FORBIDDEN with `details.reason` `keycloak_refused`.
   */
  signIn(externalToken: string): Promise<SignInTokens>;
}

export interface SignInTokens {
  accessToken: string;
  tokenType: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  idToken?: string;
  scope?: string;
}
