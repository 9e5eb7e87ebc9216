/**
 * Access tokens of the platform realm, verified (adapter: bff/src/adapters/keycloak/access-token-verifier.ts).
 * Who may use which token where is decided at the edge (bff/src/http/bearer.ts), not here.
 */

/** The claims of a verified access token that the BFF relies on. */
export interface AccessTokenClaims {
  /** The account: a person's, or a client's service account. */
  sub?: string;
  /** The client the token was issued to. */
  azp?: string;
  aud?: string | string[];
  /** Seconds since the epoch. */
  exp?: number;
  iat?: number;
  typ?: string;
  sid?: string;
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  realm_access?: { roles?: string[] };
  /** RFC 8693 actor: the partner client a userToken acts for (docs/tokens.md). */
  act?: { client_id?: unknown };
}

export interface AccessTokens {
  /**
   * The token's claims once its signature, issuer, expiry and `audience` hold. A token that is not
   * good is UNAUTHENTICATED (with a safe message); keys that cannot be fetched are
   * IDENTITY_DIRECTORY_UNAVAILABLE.
   */
  verify(token: string, opts: { audience: string }): Promise<AccessTokenClaims>;
}
