/**
 * Tokens of the user-management API (seed 001), issued by Keycloak (adapter:
 * bff/src/adapters/keycloak/keycloak-user-tokens.ts).
 */
export interface TokenSet {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  refreshToken: string;
  /** Seconds. */
  refreshExpiresIn?: number;
}

export interface UserTokens {
  /**
   * `otp`: the code of the account's authenticator app, which Keycloak requires once one is set up.
   * A right password of an account with a required action pending (e.g. an e-mail change waiting for
   * its link) is UNAUTHENTICATED with `details.reason` `account_action_required`.
   */
  passwordGrant(login: string, password: string, otp?: string): Promise<TokenSet>;
  /**
   * Rotates: the answer holds a new refresh token and the one sent is spent. Sending a spent one again
   * is UNAUTHENTICATED with `details.reason` `refresh_token_reused`.
   */
  refresh(refreshToken: string): Promise<TokenSet>;
  endSession(refreshToken: string): Promise<void>;
}
