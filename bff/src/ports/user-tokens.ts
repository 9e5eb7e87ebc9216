/**
 * Tokens of the user-management API (seed 001), issued by Keycloak.
 * NOTE (partner-enrollment engineer): this file was accidentally overwritten while it was being
 * written in parallel and was restored from what keycloak-user-tokens.ts uses; check it.
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
  passwordGrant(login: string, password: string): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  endSession(refreshToken: string): Promise<void>;
}
