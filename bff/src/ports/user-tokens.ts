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
  /** `otp`: the code of the account's authenticator app, which Keycloak requires once one is set up. */
  passwordGrant(login: string, password: string, otp?: string): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  endSession(refreshToken: string): Promise<void>;
}
