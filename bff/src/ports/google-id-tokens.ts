/**
 * Google id_tokens a native app got from Google's SDK (issue 19 §2, decision 0037): verified here
 * against Google's keys, issuer, our client ids and the clock. A token that is not good throws
 * UNAUTHENTICATED with `details.reason` (`malformed`, `signature`, `issuer`, `audience`, `expired`,
 * `claims`); Google's keys out of reach throws DEPENDENCY_UNAVAILABLE.
 */
export interface GoogleIdTokens {
  verify(idToken: string): Promise<GoogleIdentity>;
}

/** What a verified id_token says of the person; nothing in it is trusted before `verify` returned it. */
export interface GoogleIdentity {
  /** Google's stable id of the person (`sub`). */
  subject: string;
  email?: string;
  /** `email_verified` is `true` (Google proves the address); absent or anything else is `false`. */
  emailVerified: boolean;
  givenName?: string;
  familyName?: string;
  name?: string;
  /** The token's own `exp`: how long a replay of it must be remembered. */
  expiresAt: Date;
}
